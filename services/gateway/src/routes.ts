import { ApiError } from '@armature/platform';

export type Upstream = 'users' | 'orders';

/** The first path segment of every public resource, and which service owns it. */
const ownerBySegment: Record<string, Upstream> = {
  users: 'users',
  auth: 'users',
  products: 'orders',
  orders: 'orders',
};

/** Resource roots, for registering unversioned routes (`/users`, `/users/*`, …). */
export const resourceRoots = [...Object.keys(ownerBySegment), 'events'];

/**
 * Which service owns a public path, the version prefix already stripped (`/users/usr_1/cart`).
 * The cart and a user's orders live under `/users/{id}` but belong to the orders service.
 * `/events` belongs to both (see `eventsOwner`): its query decides.
 */
export function ownerOf(path: string, query: Record<string, unknown> = {}): Upstream | undefined {
  const end = path.indexOf('/', 1);
  const root = end === -1 ? path.slice(1) : path.slice(1, end);
  if (root === 'events') return end === -1 ? eventsOwner(query) : undefined;
  const owner = Object.hasOwn(ownerBySegment, root) ? ownerBySegment[root] : undefined;
  if (owner !== 'users' || root !== 'users' || end === -1) return owner;
  // /users/{id}/cart… and /users/{id}/orders… belong to the orders service.
  const idEnd = path.indexOf('/', end + 1);
  if (idEnd === -1) return owner;
  const next = path.indexOf('/', idEnd + 1);
  const child = next === -1 ? path.slice(idEnd + 1) : path.slice(idEnd + 1, next);
  return child === 'cart' || child === 'orders' ? 'orders' : owner;
}

/**
 * Each service lists the events it published, from its own outbox, at `/events`. The filter names
 * the source: `type=user.…` or `aggregateId=usr_…` go to the users service, `type=order.…` or
 * `aggregateId=ord_…` to the orders service. A request naming neither cannot be routed: a 400.
 */
export function eventsOwner(query: Record<string, unknown>): Upstream {
  const first = (value: unknown) => (Array.isArray(value) ? value[0] : value);
  const type = first(query.type);
  const aggregateId = first(query.aggregateId);
  const byType = typeof type === 'string' ? type.split('.')[0] : undefined;
  const byAggregate = typeof aggregateId === 'string' ? aggregateId.split('_')[0] : undefined;
  const source = byType ?? byAggregate;
  if (source === 'user' || source === 'usr') return 'users';
  if (source === 'order' || source === 'ord') return 'orders';
  throw new ApiError('VALIDATION_ERROR', {
    details: [
      {
        field: 'type',
        message: 'name the source of the events: type=user.* or order.*, or aggregateId=usr_… or ord_…',
      },
    ],
  });
}

/**
 * API routes anyone may call without a token, matched on the method and the unversioned path. Every
 * other API route needs a valid access token at the gateway. (Gateway-local routes such as `/health`
 * and `/docs` declare themselves public with `config: { public: true }`.)
 */
const publicRoutes: Array<{ methods: readonly string[]; path: RegExp }> = [
  { methods: ['POST'], path: /^\/users$/ }, // register
  { methods: ['POST'], path: /^\/auth\/(login|refresh)$/ },
  // A forgotten password and a verification link: the caller has no token (yet, or any more).
  { methods: ['POST'], path: /^\/auth\/(password-reset|password-reset\/confirm|verify-email)$/ },
  // The code step of a two-factor sign-in: the caller holds a challenge, not a token.
  { methods: ['POST'], path: /^\/auth\/mfa$/ },
  { methods: ['GET', 'HEAD'], path: /^\/products(\/[^/]+)?$/ },
];

export function isPublicRoute(method: string, path: string): boolean {
  for (const route of publicRoutes) if (route.methods.includes(method) && route.path.test(path)) return true;
  return false;
}
