/**
 * The Traffic page's arithmetic: two snapshots of `GET /v1/traffic` (totals since each process
 * started) become rates, error ratios and latency percentiles over the time between them.
 */

export interface RouteTotals {
  service: string;
  method: string;
  route: string;
  requests: number;
  errors: number;
  buckets: number[];
}

export interface Snapshot {
  /** When the console took it (ms). */
  at: number;
  bucketBounds: number[];
  routes: RouteTotals[];
  rateLimitRefusals: Record<string, number>;
  cache: { hits: number; misses: number };
}

export interface Figures {
  /** Requests per second. */
  rate: number;
  /** Share of answers with a 5xx status, 0–1; null without requests. */
  errorRatio: number | null;
  /** Latency percentiles in ms; null without requests. */
  p50: number | null;
  p99: number | null;
}

/**
 * A percentile from a histogram's cumulative bucket counts, as Prometheus's `histogram_quantile`
 * estimates it: linear within the bucket where the rank falls; past the last bound, that bound.
 */
export function quantile(q: number, bounds: number[], cumulative: number[], count: number): number | null {
  if (count <= 0) return null;
  const rank = q * count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (let index = 0; index < bounds.length; index++) {
    const upperCount = cumulative[index] ?? 0;
    if (upperCount >= rank) {
      const inBucket = upperCount - lowerCount;
      const share = inBucket > 0 ? (rank - lowerCount) / inBucket : 1;
      return lowerBound + (bounds[index]! - lowerBound) * share;
    }
    lowerBound = bounds[index]!;
    lowerCount = upperCount;
  }
  return bounds.at(-1) ?? null;
}

const keyOf = (route: RouteTotals) => `${route.service} ${route.method} ${route.route}`;

function sum(routes: RouteTotals[], width: number): RouteTotals {
  const total = {
    service: '',
    method: '',
    route: '',
    requests: 0,
    errors: 0,
    buckets: new Array(width).fill(0),
  };
  for (const route of routes) {
    total.requests += route.requests;
    total.errors += route.errors;
    route.buckets.forEach((count, index) => {
      total.buckets[index] += count;
    });
  }
  return total;
}

/** What happened between two totals of one route (or service) over `seconds`. */
function figures(
  before: RouteTotals | undefined,
  after: RouteTotals,
  bounds: number[],
  seconds: number,
): Figures {
  // A process that restarted starts from zero again: count from there.
  const restarted = !before || after.requests < before.requests;
  const requests = after.requests - (restarted ? 0 : before.requests);
  const errors = after.errors - (restarted ? 0 : before.errors);
  const buckets = after.buckets.map((count, index) => count - (restarted ? 0 : (before.buckets[index] ?? 0)));
  const toMs = (value: number | null) => (value === null ? null : value * 1000);
  return {
    rate: seconds > 0 ? requests / seconds : 0,
    errorRatio: requests > 0 ? errors / requests : null,
    p50: toMs(quantile(0.5, bounds, buckets, requests)),
    p99: toMs(quantile(0.99, bounds, buckets, requests)),
  };
}

/** Figures per route (keyed `service METHOD route`) between two snapshots. */
export function routeFigures(before: Snapshot, after: Snapshot): Map<string, Figures & RouteTotals> {
  const seconds = (after.at - before.at) / 1000;
  const earlier = new Map(before.routes.map((route) => [keyOf(route), route]));
  const result = new Map<string, Figures & RouteTotals>();
  for (const route of after.routes) {
    result.set(keyOf(route), {
      ...route,
      ...figures(earlier.get(keyOf(route)), route, after.bucketBounds, seconds),
    });
  }
  return result;
}

/** Figures per service (all its routes together) between two snapshots. */
export function serviceFigures(before: Snapshot, after: Snapshot): Map<string, Figures> {
  const seconds = (after.at - before.at) / 1000;
  const width = after.bucketBounds.length;
  const services = [...new Set(after.routes.map((route) => route.service))].sort();
  const result = new Map<string, Figures>();
  for (const service of services) {
    const then = sum(
      before.routes.filter((route) => route.service === service),
      width,
    );
    const now = sum(
      after.routes.filter((route) => route.service === service),
      width,
    );
    result.set(service, figures(then, now, after.bucketBounds, seconds));
  }
  return result;
}

/** Refusals and cache hit ratio between two snapshots. */
export function edgeFigures(
  before: Snapshot,
  after: Snapshot,
): { refusals: number; cacheHitRatio: number | null } {
  const refused = (snapshot: Snapshot) =>
    Object.values(snapshot.rateLimitRefusals).reduce((a, b) => a + b, 0);
  const hits = after.cache.hits - before.cache.hits;
  const misses = after.cache.misses - before.cache.misses;
  return {
    refusals: Math.max(0, refused(after) - refused(before)),
    cacheHitRatio: hits + misses > 0 ? hits / (hits + misses) : null,
  };
}
