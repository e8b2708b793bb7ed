import { randomUUID } from 'node:crypto';
import { testPaymentMethods } from '@armature/contracts/payments-events';
import { prng } from './schedule.ts';

/**
 * The chaos run's traffic: shoppers registering, logging in, reading, changing their carts, checking
 * out with every test payment method (or none), cancelling; an admin moving orders along. Every answer
 * is counted by status, and every answer the system acknowledged (2xx) is written into the ledger the
 * invariants check afterwards. An answer that is neither a 2xx nor a clean refusal (a 5xx, or none at
 * all) leaves the outcome unknown: the ledger then stops assuming what it changed.
 */

/** Every test payment method of the simulator, and none (an order paid by other means). */
export const paymentMethods = [undefined, ...testPaymentMethods] as const;

export interface Answer {
  /** ms since the load began. */
  at: number;
  op: string;
  /** HTTP status, or 0 when nothing answered (connection cut, client timeout). */
  status: number;
  /** For 5xx: whether the body was the error envelope (`{"error":{"code","message"}}`). */
  envelope?: boolean;
  /** The error code of the envelope; when nothing answered, why: `ECONNREFUSED`, `TIMEOUT` or `CUT`. */
  code?: string;
  /** When nothing answered: the gateway asked (`gateway-1`, …) and when the request was sent. */
  gateway?: string;
  sentAt?: number;
}

export interface AckedOrder {
  id: string;
  userId: string;
  /** Minor units. */
  total: number;
  paymentMethod?: string;
}

export interface Ledger {
  initialStock: Record<string, number>;
  restocks: Record<string, number>;
  users: { id: string; email: string }[];
  orders: AckedOrder[];
  /** Each acknowledged status change (member cancellations, admin moves), in order. */
  statusChanges: { orderId: string; status: string }[];
  /** Each shopper's cart as last acknowledged, when nothing unknown has happened to it since. */
  carts: Record<string, Record<string, number>>;
  /** Every 2xx result of each `Idempotency-Key` (the order id it answered). */
  idempotency: Record<string, string[]>;
  answers: Answer[];
}

export function emptyLedger(): Ledger {
  return {
    initialStock: {},
    restocks: {},
    users: [],
    orders: [],
    statusChanges: [],
    carts: {},
    idempotency: {},
    answers: [],
  };
}

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field
  body: any;
}

export interface LoadOptions {
  gateways: string[];
  admin: { email: string; password: string };
  seed: number;
  shoppers: number;
  products: number;
  stock: number;
  /** Client-side limit on one request (the gateway's own timeouts are shorter). */
  requestTimeoutMs?: number;
  ledger: Ledger;
  onAnswer?: (answer: Answer) => void;
}

const money = (v1: number) => Math.round(v1 * 100);

export class Load {
  private readonly random: () => number;
  private readonly started = Date.now();
  private stopping = false;
  private adminToken = '';
  private products: string[] = [];
  private workers: Promise<void>[] = [];
  private readonly ledger: Ledger;

  private readonly options: LoadOptions;

  constructor(options: LoadOptions) {
    this.options = options;
    this.random = prng(options.seed ^ 0x5eed);
    this.ledger = options.ledger;
  }

  private gateway(): string {
    return this.options.gateways[Math.floor(this.random() * this.options.gateways.length)]!;
  }

  /**
   * One request through a gateway, recorded. A refused connection (a gateway that is down) is tried
   * once on another gateway, as a load balancer would: nothing was sent, so it is safe.
   */
  async call(
    op: string,
    method: string,
    path: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply> {
    const first = this.gateway();
    const order = [first, ...this.options.gateways.filter((url) => url !== first)];
    for (const [attempt, base] of order.entries()) {
      const sentAt = Date.now() - this.started;
      try {
        const response = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
            ...init.headers,
          },
          body: init.body === undefined ? undefined : JSON.stringify(init.body),
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
        });
        const text = await response.text();
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = undefined;
        }
        const answer: Answer = { at: Date.now() - this.started, op, status: response.status };
        if (response.status >= 400) {
          const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
          answer.code = typeof error?.code === 'string' ? error.code : undefined;
          if (response.status >= 500)
            answer.envelope = typeof error?.code === 'string' && typeof error?.message === 'string';
        }
        this.record(answer);
        return { status: response.status, body };
      } catch (error) {
        const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        if (refused && attempt < order.length - 1) continue;
        const timedOut = (error as Error).name === 'TimeoutError';
        this.record({
          at: Date.now() - this.started,
          op,
          status: 0,
          code: refused ? 'ECONNREFUSED' : timedOut ? 'TIMEOUT' : 'CUT',
          gateway: `gateway-${this.options.gateways.indexOf(base) + 1}`,
          sentAt,
        });
        return { status: 0, body: undefined };
      }
    }
    throw new Error('unreachable');
  }

  private record(answer: Answer): void {
    this.ledger.answers.push(answer);
    this.options.onAnswer?.(answer);
  }

  /** Calls until the system acknowledges (setup and closing steps, outside faults or waiting them out). */
  async must(
    op: string,
    method: string,
    path: string,
    init: { token?: string; body?: unknown; headers?: Record<string, string> },
    ok: number,
  ): Promise<Reply> {
    const deadline = Date.now() + 180_000;
    for (;;) {
      const reply = await this.call(op, method, path, init);
      if (reply.status === ok) return reply;
      if ((reply.status !== 0 && reply.status < 500) || Date.now() > deadline)
        throw new Error(`${op}: ${reply.status} ${JSON.stringify(reply.body)}`);
      await sleep(1000);
    }
  }

  async setup(): Promise<void> {
    this.adminToken = (
      await this.must('login', 'POST', '/v1/auth/login', { body: this.options.admin }, 200)
    ).body.accessToken;
    for (let i = 0; i < this.options.products; i++) {
      const reply = await this.must(
        'create product',
        'POST',
        '/v1/products',
        {
          token: this.adminToken,
          body: { name: `Chaos part ${i}`, price: 2 + i, stock: this.options.stock },
          headers: { 'idempotency-key': randomUUID() },
        },
        201,
      );
      this.products.push(reply.body.id);
      this.ledger.initialStock[reply.body.id] = this.options.stock;
    }
  }

  start(): void {
    for (let i = 0; i < this.options.shoppers; i++) this.workers.push(this.shopper(i));
    this.workers.push(this.adminLoop());
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  private async register(
    label: string,
  ): Promise<{ id: string; email: string; password: string } | undefined> {
    const email = `chaos-${label}-${randomUUID().slice(0, 12)}@example.com`;
    const password = `chaos password ${label}`;
    const reply = await this.call('register', 'POST', '/v1/users', {
      body: { email, password, name: `Chaos ${label}` },
    });
    if (reply.status !== 201) return undefined;
    this.ledger.users.push({ id: reply.body.id, email });
    return { id: reply.body.id, email, password };
  }

  private async login(email: string, password: string): Promise<string | undefined> {
    const reply = await this.call('login', 'POST', '/v1/auth/login', { body: { email, password } });
    return reply.status === 200 ? reply.body.accessToken : undefined;
  }

  private async shopper(index: number): Promise<void> {
    let me: { id: string; email: string; password: string } | undefined;
    while (!me && !this.stopping) {
      me = await this.register(`shopper${index}`);
      if (!me) await sleep(500);
    }
    if (!me) return;
    let token: string | undefined;
    const orders: string[] = [];
    // The cart as last acknowledged; undefined once an unknown outcome may have changed it.
    let cart: Record<string, number> | undefined = {};
    const known = () => {
      if (cart) this.ledger.carts[me.id] = { ...cart };
      else delete this.ledger.carts[me.id];
    };
    known();
    while (!this.stopping) {
      await sleep(60 + this.random() * 200);
      if (!token) {
        token = await this.login(me.email, me.password);
        continue;
      }
      const roll = this.random();
      const product = this.pick(this.products);
      let reply: Reply;
      if (roll < 0.2) {
        reply = await this.call('read product', 'GET', `/v1/products/${product}`);
      } else if (roll < 0.26) {
        reply = await this.call('list products', 'GET', '/v1/products?limit=20');
      } else if (roll < 0.31) {
        reply = await this.call('read me', 'GET', '/v1/users/me', { token });
      } else if (roll < 0.37) {
        reply = await this.call('list orders', 'GET', '/v1/orders?limit=20', { token });
      } else if (roll < 0.55) {
        const quantity = 1 + Math.floor(this.random() * 3);
        reply = await this.call('cart put', 'PUT', `/v1/users/me/cart/items/${product}`, {
          token,
          body: { quantity },
        });
        if (reply.status === 200) {
          cart = Object.fromEntries(
            (reply.body.items as { productId: string; quantity: number }[]).map((line) => [
              line.productId,
              line.quantity,
            ]),
          );
        } else if (reply.status === 0 || reply.status >= 500) cart = undefined;
        known();
      } else if (roll < 0.6) {
        reply = await this.call('cart delete', 'DELETE', `/v1/users/me/cart/items/${product}`, { token });
        if (reply.status === 204 && cart) delete cart[product];
        else if (reply.status === 0 || reply.status >= 500) cart = undefined;
        known();
      } else if (roll < 0.76) {
        const result = await this.checkout(token, me.id);
        reply = result.reply;
        if (result.orderId) {
          orders.push(result.orderId);
          cart = {};
        } else if (result.unknown) cart = undefined;
        known();
      } else if (roll < 0.82 && orders.length > 0) {
        reply = await this.cancel(token, this.pick(orders));
      } else if (roll < 0.86) {
        reply = await this.call('get order', 'GET', `/v1/orders/${orders.at(-1) ?? 'ord_none'}`, { token });
      } else if (roll < 0.9) {
        const fresh = await this.login(me.email, me.password);
        if (fresh) token = fresh;
        continue;
      } else if (roll < 0.94) {
        await this.register(`newcomer${index}`);
        continue;
      } else {
        reply = await this.call('read cart', 'GET', '/v1/users/me/cart', { token });
        if (reply.status === 200 && cart === undefined) {
          // A read is an acknowledged state too: the cart is known again.
          cart = Object.fromEntries(
            (reply.body.items as { productId: string; quantity: number }[]).map((line) => [
              line.productId,
              line.quantity,
            ]),
          );
          known();
        }
      }
      if (reply.status === 401) token = undefined;
    }
  }

  /**
   * Checkout under an `Idempotency-Key`: an unknown outcome is retried with the same key (up to three
   * times), and now and then a success is sent again to see the same order come back.
   */
  private async checkout(
    token: string,
    userId: string,
  ): Promise<{ reply: Reply; orderId?: string; unknown: boolean }> {
    const key = randomUUID();
    const paymentMethod = this.pick(paymentMethods);
    const body = paymentMethod ? { paymentMethod } : {};
    const send = () =>
      this.call('checkout', 'POST', '/v1/users/me/orders', {
        token,
        body,
        headers: { 'idempotency-key': key },
      });
    let reply = await send();
    for (let retry = 0; retry < 3 && (reply.status === 0 || reply.status >= 500) && !this.stopping; retry++) {
      await sleep(1000 + this.random() * 2000);
      reply = await send();
    }
    if (reply.status !== 201) return { reply, unknown: reply.status === 0 || reply.status >= 500 };
    const orderId = reply.body.id as string;
    this.ledger.idempotency[key] = [...(this.ledger.idempotency[key] ?? []), orderId];
    this.ledger.orders.push({ id: orderId, userId, total: money(reply.body.total), paymentMethod });
    if (this.random() < 0.15) {
      const again = await send();
      if (again.status === 201) this.ledger.idempotency[key]!.push(again.body.id);
    }
    return { reply, orderId, unknown: false };
  }

  private async cancel(token: string, orderId: string): Promise<Reply> {
    const read = await this.call('get order', 'GET', `/v1/orders/${orderId}`, { token });
    if (read.status !== 200) return read;
    if (read.body.status !== 'pending' && read.body.status !== 'paid') return read;
    const reply = await this.call('cancel', 'PATCH', `/v1/orders/${orderId}`, {
      token,
      body: { status: 'cancelled', version: read.body.version },
    });
    if (reply.status === 200) this.ledger.statusChanges.push({ orderId, status: 'cancelled' });
    return reply;
  }

  /** The admin: moves orders along (pending without a payment method → paid → shipped → delivered) and lists them. */
  private async adminLoop(): Promise<void> {
    while (!this.stopping) {
      await sleep(250 + this.random() * 500);
      const orders = this.ledger.orders;
      if (orders.length === 0 || this.random() < 0.25) {
        const reply = await this.call('admin list orders', 'GET', '/v1/orders?limit=50', {
          token: this.adminToken,
        });
        if (reply.status === 401) await this.adminLogin();
        continue;
      }
      const order = this.pick(orders.slice(-40));
      const read = await this.call('admin get order', 'GET', `/v1/orders/${order.id}`, {
        token: this.adminToken,
      });
      if (read.status === 401) await this.adminLogin();
      if (read.status !== 200) continue;
      const next: Record<string, string | undefined> = {
        pending: order.paymentMethod ? undefined : 'paid',
        paid: 'shipped',
        shipped: 'delivered',
      };
      const status = next[read.body.status as string];
      if (!status) continue;
      const reply = await this.call('admin status', 'PATCH', `/v1/orders/${order.id}`, {
        token: this.adminToken,
        body: { status, version: read.body.version },
      });
      if (reply.status === 200) this.ledger.statusChanges.push({ orderId: order.id, status });
    }
  }

  private async adminLogin(): Promise<void> {
    const fresh = await this.login(this.options.admin.email, this.options.admin.password);
    if (fresh) this.adminToken = fresh;
  }

  /**
   * Restocks every product by `units` once the traffic has stopped and the backlogs are drained: a
   * read and a `PATCH` of the stock, which nothing else changes by then (an absolute value, so a retry
   * after an unknown outcome is harmless).
   */
  async restock(units: number): Promise<void> {
    await this.adminLogin();
    for (const product of this.products) {
      const read = await this.must('admin read product', 'GET', `/v1/products/${product}`, {}, 200);
      await this.must(
        'restock',
        'PATCH',
        `/v1/products/${product}`,
        { token: this.adminToken, body: { stock: read.body.stock + units } },
        200,
      );
      this.ledger.restocks[product] = (this.ledger.restocks[product] ?? 0) + units;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
