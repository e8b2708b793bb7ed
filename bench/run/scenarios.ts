import type { BenchRequest } from '../lib/load.ts';
import { type Fixture, productFor } from '../lib/seed.ts';

/** The requests of each scenario, their titles, and a check of the answers they get. */

// ---------------------------------------------------------------- the requests of each scenario

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });
export const jsonHeaders = { 'content-type': 'application/json' };

export function scenarioRequests(fixture: Fixture) {
  const shopper = (index: number) => fixture.shoppers[index % fixture.shoppers.length]!;
  const me = (i: number): BenchRequest[] => [{ path: '/v1/users/me', headers: auth(shopper(i).token) }];
  const product = (i: number): BenchRequest[] => [
    { path: `/v1/products/${fixture.products[i % fixture.products.length]}` },
  ];
  const orders = (i: number): BenchRequest[] => [
    { path: '/v1/orders?limit=20', headers: auth(shopper(i).token) },
  ];
  // One checkout = two requests in a row on one connection: one unit of the shopper's own product
  // into the cart (200), then the checkout (201). Each connection is its own shopper, so carts never
  // mix; stock is ample, so every checkout succeeds.
  const checkout = (i: number): BenchRequest[] => {
    const s = shopper(i);
    return [
      {
        method: 'PUT',
        path: `/v1/users/${s.id}/cart/items/${productFor(fixture, i % fixture.shoppers.length)}`,
        headers: { ...auth(s.token), ...jsonHeaders },
        body: '{"quantity":1}',
      },
      {
        method: 'POST',
        path: `/v1/users/${s.id}/orders`,
        headers: { ...auth(s.token), ...jsonHeaders },
        body: '{}',
      },
    ];
  };
  const login = (i: number): BenchRequest[] => [
    {
      method: 'POST',
      path: '/v1/auth/login',
      headers: jsonHeaders,
      body: JSON.stringify({ email: shopper(i).email, password: shopper(i).password }),
    },
  ];
  return { me, product, orders, checkout, login };
}

export const titles = {
  me: 'GET /v1/users/me',
  proxy: 'GET /v1/users/me, proxy-bound',
  product: 'GET /v1/products/{id}',
  orders: 'GET /v1/orders?limit=20',
  checkout: 'checkout (orders/s)',
  login: 'POST /v1/auth/login',
};

/** Records what the real services answer, for the bare server to answer with the same bytes. */
export async function recordResponses(
  origin: string,
  fixture: Fixture,
  requests: ReturnType<typeof scenarioRequests>,
) {
  const recorded: Array<{ method: string; url: string; status: number; contentType: string; body: string }> =
    [];
  const keep = async (request: BenchRequest) => {
    const response = await fetch(`${origin}${request.path}`, {
      method: request.method ?? 'GET',
      headers: request.headers,
      body: request.body,
    });
    const body = await response.text();
    if (response.status >= 300) throw new Error(`recording ${request.path}: ${response.status} ${body}`);
    recorded.push({
      method: request.method ?? 'GET',
      url: request.path,
      status: response.status,
      contentType: response.headers.get('content-type') ?? 'application/json',
      body,
    });
  };
  for (const request of [
    ...requests.me(0),
    ...requests.product(0),
    ...requests.orders(0),
    ...requests.checkout(0),
    ...requests.login(0),
    { path: '/.well-known/jwks.json' },
  ])
    await keep(request);
  void fixture;
  return recorded;
}
