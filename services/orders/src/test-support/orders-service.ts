import { createTokenVerifier } from '@armature/platform';
import { ContractViolation, projectContract } from '@armature/testing/contract';
import { freshStore } from '@armature/testing/databases';
import {
  createTokenMinter,
  type TestUser,
  type TokenMinter,
  testAudience,
  testIssuer,
} from '@armature/testing/tokens';
import { startOrdersService } from '../app.ts';
import { readOrdersConfig } from '../config.ts';

/** Headers the gateway adds to every answer (rate limits, v1's deprecation notice). */
const edgeHeaders = /^missing header (X-RateLimit-(Limit|Remaining|Reset)|Deprecation|Sunset)$/;

export interface Reply {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test bodies are read field by field
  body: any;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestOrders {
  url: string;
  minter: TokenMinter;
  admin: TestUser;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  /** Adds a product as the admin (v2 body, minor units) and returns its v2 view. */
  product(values?: { name?: string; amount?: number; stock?: number }): Promise<Reply['body']>;
  /** Sets the quantity of a product in a user's cart. */
  addToCart(user: TestUser, productId: string, quantity: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The orders service on a free port with a fresh database (PGlite, or PostgreSQL when
 * `TEST_POSTGRES_URL` is set), verifying tokens from a local key instead of the users service.
 */
export async function startTestOrders(label: string, env: Record<string, string> = {}): Promise<TestOrders> {
  const store = await freshStore(label);
  const minter = await createTokenMinter();
  const config = readOrdersConfig({
    DATA_DIR: store.dataDir,
    ...(store.url ? { ORDERS_DATABASE_URL: store.url } : {}),
    ORDERS_PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // No users service here: checkout's customer check falls back to the customers projection
    // (whatever else listens on the default port is never asked).
    USERS_SERVICE_URLS: 'http://127.0.0.1:9',
    ...env,
  });
  const verifier = createTokenVerifier({ jwks: minter.getKey, issuer: testIssuer, audience: testAudience });
  const service = await startOrdersService(config, { verifier });
  const admin = await minter.user(['admin']);
  let counter = 0;

  const call: TestOrders['call'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${service.url}${path}`, { method, headers, body });
    const text = await response.text();
    const reply = {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
    // Every answer must keep the API contract, but for the headers only the gateway adds.
    const observed = { method, path, status: reply.status, headers: reply.headers, body: reply.body };
    const violations = projectContract()
      .violations(observed)
      .filter((violation) => !edgeHeaders.test(violation));
    if (violations.length > 0) throw new ContractViolation(observed, violations);
    return reply;
  };

  return {
    url: service.url,
    minter,
    admin,
    call,
    async product(values = {}) {
      counter += 1;
      const reply = await call('POST', '/v2/products', {
        token: admin.token,
        body: {
          name: values.name ?? `Product ${counter}`,
          price: { amount: values.amount ?? 1000, currency: 'USD' },
          stock: values.stock ?? 100,
        },
      });
      if (reply.status !== 201) throw new Error(`product not created: ${JSON.stringify(reply.body)}`);
      return reply.body;
    },
    async addToCart(user, productId, quantity) {
      const reply = await call('PUT', `/v1/users/me/cart/items/${productId}`, {
        token: user.token,
        body: { quantity },
      });
      if (reply.status !== 200) throw new Error(`cart not changed: ${JSON.stringify(reply.body)}`);
    },
    async close() {
      await service.close();
      await store.drop();
    },
  };
}
