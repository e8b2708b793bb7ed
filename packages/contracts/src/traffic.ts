import { type Static, Type } from '@sinclair/typebox';
import { Timestamp } from './common.ts';
import { defineOperations } from './operation.ts';

/**
 * Traffic for the admin console: the counters of the gateway and of every service instance, read
 * from their own metrics (`/metrics`) when asked; no Prometheus server is needed. The figures are
 * totals since each process started: the console polls and turns the differences between two
 * snapshots into rates, error ratios and latency percentiles.
 */

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Name = Type.String({ maxLength: 300, pattern: '^[^\\u0000-\\u001f]*$' });

export const RouteTraffic = Type.Object(
  {
    service: Type.String({ maxLength: 64, pattern: '^[a-z][a-z0-9-]*$' }),
    method: Type.String({ maxLength: 10, pattern: '^[A-Z]+$' }),
    route: Name,
    requests: Count,
    /** Answers with a 5xx status. */
    errors: Count,
    /** Requests that took at most each of `bucketBounds`, cumulative (as a Prometheus histogram). */
    buckets: Type.Array(Count, { maxItems: 50 }),
    durationSeconds: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false, title: 'RouteTraffic' },
);
export type RouteTraffic = Static<typeof RouteTraffic>;

export const InstanceState = Type.Object(
  {
    service: Type.String({ maxLength: 64, pattern: '^[a-z][a-z0-9-]*$' }),
    instance: Type.String({ maxLength: 80, pattern: '^[a-z][a-z0-9-]*$' }),
    /** Whether the gateway sends it traffic (its health probe passes and its circuit is closed). */
    up: Type.Boolean(),
    breaker: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')]),
    /** Events written to its outbox and not yet published; null when its metrics did not answer. */
    outboxBacklog: Type.Union([Count, Type.Null()]),
    /**
     * The instance's own dependencies as its health report names them (`database`, `bus`, `cache`,
     * `mail`, a payment provider…); empty when its report did not answer.
     */
    dependencies: Type.Array(
      Type.Object(
        {
          name: Type.String({ maxLength: 64, pattern: '^[a-z][a-z0-9-]*$' }),
          status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
          latency: Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'milliseconds' }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 20 },
    ),
  },
  { additionalProperties: false, title: 'InstanceState' },
);
export type InstanceState = Static<typeof InstanceState>;

/** Another gateway of the deployment (`GATEWAY_PEER_URLS`), as this one's probe of it finds it. */
export const GatewayState = Type.Object(
  {
    url: Type.String({ format: 'uri', maxLength: 2048 }),
    status: Type.Union([Type.Literal('up'), Type.Literal('down')]),
    latency: Type.Integer({ minimum: 0, maximum: 86_400_000, description: 'milliseconds' }),
  },
  { additionalProperties: false, title: 'GatewayState' },
);
export type GatewayState = Static<typeof GatewayState>;

export const TrafficSnapshot = Type.Object(
  {
    sampledAt: Timestamp,
    /**
     * Where the counters come from: each process's `/metrics`, read now (`services`), or the latest
     * scrape of the Prometheus server the gateway is configured with (`prometheus`).
     */
    source: Type.Union([Type.Literal('services'), Type.Literal('prometheus')]),
    /** Upper bounds (seconds) of the latency buckets of every route's `buckets`. */
    bucketBounds: Type.Array(Type.Number({ minimum: 0 }), { maxItems: 50 }),
    routes: Type.Array(RouteTraffic, { maxItems: 2000 }),
    /** Requests the gateway refused with 429, by bucket (`general`, `login`, a plan's). */
    rateLimitRefusals: Type.Record(Type.String({ maxLength: 64 }), Count),
    /** Lookups of the services' caches answered from the cache, and those that were not. */
    cache: Type.Object({ hits: Count, misses: Count }, { additionalProperties: false }),
    instances: Type.Array(InstanceState, { maxItems: 1000 }),
    /** The deployment's other gateways (`GATEWAY_PEER_URLS`): whether each is ready to take traffic. */
    gateways: Type.Array(GatewayState, { maxItems: 64 }),
  },
  { additionalProperties: false, title: 'TrafficSnapshot' },
);
export type TrafficSnapshot = Static<typeof TrafficSnapshot>;

export const trafficOperations = defineOperations({
  getTraffic: {
    operationId: 'getTraffic',
    service: 'gateway',
    method: 'GET',
    path: '/traffic',
    summary: "The system's traffic counters now (admin): requests, errors and latency by route and service",
    description:
      'Read from the gateway’s own metrics and from every service instance’s `/metrics` at the time ' +
      'of the call (an instance that does not answer is left out, and its backlog is null), plus each ' +
      'instance’s circuit-breaker state as the gateway sees it. Totals since each process started: ' +
      'poll it and compare two snapshots for rates. Probes and scrapes are left out of the routes.',
    tags: ['Console'],
    access: 'admin',
    query: Type.Object({}, { additionalProperties: false }),
    responses: { 200: TrafficSnapshot },
    errors: [400, 401, 403],
  },
});
