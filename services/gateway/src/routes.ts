import { allOperations } from '@armature/contracts/all-operations';
import { type Access, type Operation, operationScope } from '@armature/contracts/operation';
import { type ServiceName, serviceCatalog } from '@armature/contracts/services';
import { ApiError } from '@armature/platform';
import FindMyWay from 'find-my-way';

export type Upstream = ServiceName;

/**
 * The gateway's routing, read from the contract: each operation names the service that owns it and
 * who may call it (`public`, `authenticated`, `admin`). A path template belongs to one service; the
 * method decides only whether a token is needed at the edge. Nothing here restates a path by hand.
 */
interface PathEntry {
  /** The service it is forwarded to; undefined for the gateway's own operations (usage). */
  owner: Upstream | undefined;
  /** The contract's path template (`/users/{id}`), which names the route in traces. */
  template: string;
  /** Who may call each method of this path (HEAD as GET). */
  access: Map<string, Access>;
  /** The scope an API key needs for each method (HEAD as GET). */
  scopes: Map<string, string>;
  /** What a call of each method counts against a quota (the contract's `cost`, 1 by default). */
  costs: Map<string, number>;
}

/** Paths the gateway forwards: versioned operations of the services (not the gateway's own). */
export const forwardedOperations = (Object.values(allOperations) as Operation[]).filter(
  (operation): operation is Operation & { service: Upstream } =>
    operation.service !== 'gateway' && !operation.unversioned,
);

// Ids as long as the services accept (their routers take 2048-character parameters), so that an
// overlong id reaches its service and gets that service's 404 for an unknown id.
/** Versioned operations the gateway answers itself: their access, scopes and costs apply as for any. */
export const gatewayOperations = (Object.values(allOperations) as Operation[]).filter(
  (operation) => operation.service === 'gateway' && !operation.unversioned,
);

const router = FindMyWay<FindMyWay.HTTPVersion.V1>({
  caseSensitive: true,
  ignoreTrailingSlash: false,
  maxParamLength: 2048,
});
const entries = new Map<string, PathEntry>();
for (const operation of [...forwardedOperations, ...gatewayOperations]) {
  const owner = operation.service === 'gateway' ? undefined : operation.service;
  const path = operation.path.replace(/\{(\w+)\}/g, ':$1');
  let entry = entries.get(path);
  if (!entry) {
    entry = {
      owner,
      template: operation.path,
      access: new Map(),
      scopes: new Map(),
      costs: new Map(),
    };
    entries.set(path, entry);
    // One lookup per path, whatever the method: register it once, under GET, with its entry.
    router.on('GET', path, () => {}, entry);
  }
  if (entry.owner !== owner) {
    throw new Error(
      `${operation.path} is owned by both ${entry.owner} and ${operation.service} in the contract`,
    );
  }
  entry.access.set(operation.method, operation.access);
  entry.scopes.set(operation.method, operationScope(operation));
  entry.costs.set(operation.method, operation.cost ?? 1);
  if (operation.method === 'GET') {
    entry.access.set('HEAD', operation.access);
    entry.scopes.set('HEAD', operationScope(operation));
  }
}

/** Resource roots, for registering unversioned routes (`/users`, `/users/*`, …). */
export const resourceRoots = [
  ...new Set(forwardedOperations.map((operation) => operation.path.split('/')[1]!)),
];

// A request asks about its path several times in a row (access, scope, cost, owner): the last
// lookup is kept, so those cost one router walk instead of one each.
let lastPath: string | undefined;
let lastEntry: PathEntry | undefined;

function entryOf(path: string): PathEntry | undefined {
  if (path !== lastPath) {
    lastEntry = (router.find('GET', path)?.store as PathEntry | undefined) ?? undefined;
    lastPath = path;
  }
  return lastEntry;
}

/**
 * Which service owns a public path, the version prefix already stripped (`/users/usr_1/cart`).
 * `/events` is listed by both services (see `eventsOwner`): its query decides.
 */
export function ownerOf(path: string, query: Record<string, unknown> = {}): Upstream | undefined {
  if (path === '/events') return eventsOwner(query);
  const entry = entryOf(path);
  // `/services/{service}/…` (dead letters) belongs to the service its path names.
  if (entry && path.startsWith('/services/')) return serviceNamed(path.split('/')[2]) ?? entry.owner;
  return entry?.owner;
}

function serviceNamed(name: string | undefined): Upstream | undefined {
  return serviceCatalog.find((entry) => entry.name === name)?.name;
}

/** The contract's template of a path (`/users/usr_1` → `/users/{id}`); undefined for an unknown one. */
export function templateOf(path: string): string | undefined {
  return entryOf(path)?.template;
}

/** Who may call this route, as the contract says; undefined for a route it does not declare. */
export function accessOf(method: string, path: string): Access | undefined {
  return entryOf(path)?.access.get(method);
}

/** The scope an API key needs for this route, as the contract's operation names it. */
export function scopeOf(method: string, path: string): string | undefined {
  return entryOf(path)?.scopes.get(method);
}

/** What a call of this route counts against a quota, as the contract's operation says. */
export function costOf(method: string, path: string): number | undefined {
  return entryOf(path)?.costs.get(method);
}

/** Whether anyone may call this route without a token (the contract's `access: 'public'`). */
export function isPublicRoute(method: string, path: string): boolean {
  return accessOf(method, path) === 'public';
}

/** Event type prefix (`order`) and aggregate id prefix (`ord`) → the service that publishes them. */
const eventSources = new Map<string, ServiceName>(
  serviceCatalog.flatMap((entry) => [
    [entry.events.typePrefix, entry.name],
    [entry.events.idPrefix, entry.name],
  ]),
);

/**
 * Each service lists the events it published, from its own outbox, at `/events`. The filter names
 * the source: an event type (`type=order.created`) or an aggregate id (`aggregateId=ord_…`) whose
 * prefix the contract's service catalog gives to one service. A request naming neither is a 400.
 */
export function eventsOwner(query: Record<string, unknown>): Upstream {
  const first = (value: unknown) => (Array.isArray(value) ? value[0] : value);
  const type = first(query.type);
  const aggregateId = first(query.aggregateId);
  const byType = typeof type === 'string' ? type.split('.')[0] : undefined;
  const byAggregate = typeof aggregateId === 'string' ? aggregateId.split('_')[0] : undefined;
  const owner = eventSources.get(byType ?? byAggregate ?? '');
  if (owner) return owner;
  const types = serviceCatalog.map((entry) => `${entry.events.typePrefix}.*`).join(', ');
  const ids = serviceCatalog.map((entry) => `${entry.events.idPrefix}_…`).join(', ');
  throw new ApiError('VALIDATION_ERROR', {
    details: [
      {
        field: 'type',
        message: `name the source of the events: type=${types}, or aggregateId=${ids}`,
      },
    ],
  });
}
