import { randomUUID } from 'node:crypto';
import { contractFetch } from '@armature/testing/contract';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { expect } from 'vitest';

/**
 * What the abuse suites share: a system with an admin, a way to call it through the gateway with every
 * answer checked against the contract, and a snapshot of everything a client can see, taken before and
 * after an attack to prove the attack changed nothing.
 */

export const adminCredentials = { email: 'abuse-admin@example.com', password: 'abuse admin password' };

export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: JSON of whatever shape the API answered.
  body: any;
}

export interface CallOptions {
  token?: string;
  /** A value to send as JSON, or a string/Buffer sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Member {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface AbuseSystem {
  system: TestSystem;
  url: string;
  call(method: string, path: string, options?: CallOptions): Promise<Answer>;
  admin: Member;
  /** Registers and logs in a new member. */
  member(label?: string): Promise<Member>;
  /** A product (admin-made) with stock. */
  product(stock?: number): Promise<string>;
  /** Everything the admin can see: users, products, orders with their items, each member's cart. */
  snapshot(members: Member[]): Promise<unknown>;
  close(): Promise<void>;
}

const checkedFetch = contractFetch();

export async function startAbuseSystem(env: Record<string, string> = {}): Promise<AbuseSystem> {
  const system = await startSystem({
    ADMIN_EMAIL: adminCredentials.email,
    ADMIN_PASSWORD: adminCredentials.password,
    ...env,
  });
  const url = system.url;

  const call: AbuseSystem['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | Buffer | undefined;
    if (typeof options.body === 'string' || Buffer.isBuffer(options.body)) body = options.body;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const response = await checkedFetch(`${url}${path}`, { method, headers, body });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };

  const login = async (email: string, password: string) => {
    const answer = await call('POST', '/v1/auth/login', { body: { email, password } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.accessToken as string;
  };

  const adminToken = await login(adminCredentials.email, adminCredentials.password);
  const me = await call('GET', '/v1/users/me', { token: adminToken });
  const admin: Member = { ...adminCredentials, id: me.body.id, token: adminToken };

  const member: AbuseSystem['member'] = async (label = 'member') => {
    const email = `${label}-${randomUUID()}@example.com`;
    const password = `password of ${label}`;
    const created = await call('POST', '/v1/users', { body: { email, name: label, password } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return { id: created.body.id, email, password, token: await login(email, password) };
  };

  const product: AbuseSystem['product'] = async (stock = 10) => {
    const created = await call('POST', '/v1/products', {
      token: admin.token,
      body: { name: `Product ${randomUUID().slice(0, 8)}`, price: 12.5, stock },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    return created.body.id as string;
  };

  const list = async (path: string) => {
    const answer = await call('GET', path, { token: admin.token });
    expect(answer.status, `${path}: ${JSON.stringify(answer.body)}`).toBe(200);
    return answer.body.data as { id: string }[];
  };

  const snapshot: AbuseSystem['snapshot'] = async (members) => {
    const users = await list('/v1/users?limit=100&sort=createdAt');
    const products = await list('/v1/products?limit=100&sort=createdAt');
    const orders = await list('/v1/orders?limit=100&sort=createdAt');
    const items: Record<string, unknown> = {};
    for (const order of orders) items[order.id] = await list(`/v1/orders/${order.id}/items?limit=100`);
    const carts: Record<string, unknown> = {};
    for (const { id } of members) {
      const cart = await call('GET', `/v1/users/${id}/cart`, { token: admin.token });
      carts[id] = cart.status === 200 ? cart.body : cart.status;
    }
    return { users, products, orders, items, carts };
  };

  return { system, url, call, admin, member, product, snapshot, close: () => system.close() };
}

/** The answer is the refusal expected: that status, the error envelope, and never a 5xx. */
export function expectRefused(answer: Answer, status: number, code?: string): void {
  const shown = `${answer.status} ${JSON.stringify(answer.body)}`;
  expect(answer.status, shown).toBeLessThan(500);
  expect(answer.status, shown).toBe(status);
  expect(answer.body?.error?.code, shown).toEqual(code ?? expect.any(String));
  expect(answer.body?.requestId, shown).toEqual(expect.any(String));
}

/** A 4xx with the error envelope, whichever 4xx (for inputs where several refusals are right). */
export function expectClientError(answer: Answer, allowed: number[] = [400, 404]): void {
  const shown = `${answer.status} ${JSON.stringify(answer.body)}`;
  expect(allowed, shown).toContain(answer.status);
  expect(answer.body?.error?.code, shown).toEqual(expect.any(String));
}
