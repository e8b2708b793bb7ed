/**
 * The services behind the gateway, in start order: a service may call those listed before it (every
 * service verifies tokens against the users service's keys). The embedded launcher, `start:cluster`,
 * `armature migrate`, the gateway's routing and its configuration all read this list, so a service
 * is added here once (`npm run new:service` does it) and nowhere else by hand.
 */
export const serviceCatalog = [
  {
    name: 'users',
    /** Its default port when run on its own (`USERS_PORT`). */
    port: 8081,
    /** The prefix of the event types it publishes (`user.created`) and of their aggregates' ids (`usr_…`). */
    events: { typePrefix: 'user', idPrefix: 'usr' },
  },
  {
    name: 'orders',
    port: 8082,
    events: { typePrefix: 'order', idPrefix: 'ord' },
  },
  {
    name: 'payments',
    port: 8083,
    events: { typePrefix: 'payment', idPrefix: 'pay' },
  },
  // armature:new-service catalog
] as const;

export type ServiceName = (typeof serviceCatalog)[number]['name'];
/** Who serves an operation: the gateway itself or one of the services. */
export type Service = 'gateway' | ServiceName;

export const serviceNames: ServiceName[] = serviceCatalog.map((entry) => entry.name);

/** `orders` → `ORDERS`, `order-notes` → `ORDER_NOTES`: the prefix of a service's variables. */
export function envPrefix(service: string): string {
  return service.toUpperCase().replaceAll('-', '_');
}
