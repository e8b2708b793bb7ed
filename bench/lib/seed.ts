/**
 * The data the scenarios need, made through the public API of a running system (so the embedded and
 * the scale-out systems are seeded the same way): products with ample stock, shoppers with tokens,
 * and a history of orders for each shopper.
 */

export interface Shopper {
  id: string;
  email: string;
  password: string;
  token: string;
}

export interface Fixture {
  adminToken: string;
  products: string[];
  shoppers: Shopper[];
}

export interface SeedOptions {
  admin: { email: string; password: string };
  products: number;
  shoppers: number;
  ordersPerShopper: number;
  /** Distinguishes the emails of one run from another's on a shared database. */
  runId: string;
}

const json = { 'content-type': 'application/json' };

// biome-ignore lint/suspicious/noExplicitAny: seeding reads a few known fields of JSON answers
type Json = any;

export async function call(
  url: string,
  init: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; text: string; body: Json }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : json),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

async function expectStatus<T extends { status: number; text: string }>(
  what: string,
  expected: number,
  pending: Promise<T>,
): Promise<T> {
  const reply = await pending;
  if (reply.status !== expected) throw new Error(`${what}: ${reply.status} ${reply.text.slice(0, 300)}`);
  return reply;
}

export async function login(base: string, email: string, password: string): Promise<string> {
  const reply = await expectStatus(
    `login ${email}`,
    200,
    call(`${base}/v1/auth/login`, { method: 'POST', body: { email, password } }),
  );
  return reply.body.accessToken as string;
}

/** Runs `work` over `items` with at most `limit` at a time. */
export async function inParallel<T, R>(
  items: T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** The cart line each checkout of a shopper adds: its own product, so checkouts do not queue on one row. */
export function productFor(fixture: Fixture, shopperIndex: number): string {
  return fixture.products[shopperIndex % fixture.products.length]!;
}

export async function seed(base: string, options: SeedOptions): Promise<Fixture> {
  const adminToken = await login(base, options.admin.email, options.admin.password);
  const products = await inParallel(
    Array.from({ length: options.products }, (_, i) => i),
    8,
    async (i) => {
      const reply = await expectStatus(
        'create product',
        201,
        call(`${base}/v1/products`, {
          method: 'POST',
          token: adminToken,
          body: {
            name: `Bench product ${String(i).padStart(3, '0')}`,
            description: 'A product for load tests',
            price: 9.99 + i,
            stock: 1_000_000_000,
          },
        }),
      );
      return reply.body.id as string;
    },
  );
  const shoppers = await inParallel(
    Array.from({ length: options.shoppers }, (_, i) => i),
    4,
    async (i) => {
      const email = `bench-${options.runId}-${i}@example.com`;
      const password = `bench password ${i} ${options.runId}`;
      const created = await expectStatus(
        'register',
        201,
        call(`${base}/v1/users`, { method: 'POST', body: { email, name: `Bench shopper ${i}`, password } }),
      );
      return { id: created.body.id as string, email, password, token: await login(base, email, password) };
    },
  );
  const fixture = { adminToken, products, shoppers };
  await inParallel(shoppers, shoppers.length, async (shopper, i) => {
    for (let n = 0; n < options.ordersPerShopper; n++) await checkoutOnce(base, fixture, shopper, i);
  });
  return fixture;
}

/** Puts one unit of the shopper's product in the cart and checks out: one order. */
export async function checkoutOnce(base: string, fixture: Fixture, shopper: Shopper, index: number) {
  await expectStatus(
    'add to cart',
    200,
    call(`${base}/v1/users/${shopper.id}/cart/items/${productFor(fixture, index)}`, {
      method: 'PUT',
      token: shopper.token,
      body: { quantity: 1 },
    }),
  );
  return expectStatus(
    'checkout',
    201,
    call(`${base}/v1/users/${shopper.id}/orders`, { method: 'POST', token: shopper.token, body: {} }),
  );
}

/** How many orders exist in all (an admin's view): a check that every 201 was a real order. */
export async function orderCount(base: string, adminToken: string): Promise<number> {
  const reply = await expectStatus(
    'count orders',
    200,
    call(`${base}/v1/orders?limit=1`, { token: adminToken }),
  );
  return reply.body.pagination.total as number;
}

/** One API key per shopper (scope `users:read`), in the order of the fixture's shoppers. */
export async function createApiKeys(base: string, fixture: Fixture): Promise<string[]> {
  return inParallel(fixture.shoppers, 4, async (shopper) => {
    const reply = await expectStatus(
      'create API key',
      201,
      call(`${base}/v1/users/${shopper.id}/api-keys`, {
        method: 'POST',
        token: shopper.token,
        body: { name: 'bench', scopes: ['users:read'] },
      }),
    );
    return reply.body.key as string;
  });
}
