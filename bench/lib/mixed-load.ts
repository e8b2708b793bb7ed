import { runLoad } from './load.ts';

async function json(origin: string, method: string, path: string, body?: unknown, token?: string) {
  const response = await fetch(`${origin}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON, read field by field
  const parsed = (await response.json()) as any;
  if (response.status >= 300)
    throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(parsed)}`);
  return parsed;
}

/**
 * The mixed load of the memory benches (`bench/embedded.ts`, `bench/scale-out-memory.ts`): each
 * connection its own shopper, reading the catalog, its user and its orders, and checking out in turn.
 */
export async function mixedLoad(
  origin: string,
  options: { admin: { email: string; password: string }; connections: number; seconds: number },
) {
  const { admin, connections, seconds } = options;
  const adminToken = (await json(origin, 'POST', '/v1/auth/login', admin)).accessToken as string;
  const product = await json(
    origin,
    'POST',
    '/v1/products',
    { name: 'Bench part', price: 3, stock: 1_000_000_000 },
    adminToken,
  );
  const shoppers: { id: string; token: string }[] = [];
  for (let i = 0; i < connections; i++) {
    const member = {
      email: `bench-shopper-${Date.now()}-${i}@example.com`,
      password: `bench shopper ${i} password`,
    };
    const created = await json(origin, 'POST', '/v1/users', { ...member, name: `Shopper ${i}` });
    shoppers.push({
      id: created.id,
      token: (await json(origin, 'POST', '/v1/auth/login', member)).accessToken,
    });
  }
  return runLoad({
    origin,
    requests: [],
    perConnection: (index) => {
      const { token } = shoppers[index % shoppers.length]!;
      const auth = { authorization: `Bearer ${token}` };
      return [
        { path: `/v1/products/${product.id}` },
        { path: '/v1/products?limit=20' },
        { path: '/v1/users/me', headers: auth },
        {
          method: 'PUT',
          path: `/v1/users/me/cart/items/${product.id}`,
          headers: { ...auth, 'content-type': 'application/json' },
          body: '{"quantity":1}',
        },
        { method: 'POST', path: '/v1/users/me/orders', headers: auth },
        { path: '/v1/orders?limit=20', headers: auth },
      ];
    },
    connections,
    seconds,
  });
}
