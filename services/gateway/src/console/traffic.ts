import {
  type GatewayState,
  type InstanceState,
  type RouteTraffic,
  type TrafficSnapshot,
  trafficOperations,
} from '@armature/contracts';
import { isoTimestamp, registerOperation } from '@armature/platform';
import type { FastifyInstance } from 'fastify';
import type { UpstreamInstance, Upstreams } from '../upstreams.ts';
import { parseSamples, type Sample } from './metrics-text.ts';
import { prometheusInstance, queryPrometheus } from './prometheus.ts';

export interface TrafficOptions {
  upstreams: Upstreams;
  /** How long an instance may take to give its metrics before the snapshot goes on without them. */
  instanceTimeoutMs?: number;
  /** A Prometheus server scraping the gateway and the services: read instead of every process. */
  prometheusUrl?: string;
  /** The deployment's other gateways, probed for the map. */
  peerUrls?: string[];
}

/** Another gateway's readiness, as the map shows it. */
async function probePeer(url: string, timeoutMs: number): Promise<GatewayState> {
  const started = performance.now();
  try {
    const response = await fetch(new URL('health/ready', url.endsWith('/') ? url : `${url}/`), {
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
    const latency = Math.round(performance.now() - started);
    return { url, status: response.ok ? 'up' : 'down', latency };
  } catch {
    return { url, status: 'down', latency: Math.round(performance.now() - started) };
  }
}

const histogram = 'http_request_duration_seconds';
const families = new Set([
  `${histogram}_bucket`,
  `${histogram}_count`,
  `${histogram}_sum`,
  'cache_hits_total',
  'cache_misses_total',
  'events_outbox_backlog',
  'gateway_rate_limit_rejections_total',
]);
const wanted = (name: string) => families.has(name);
/** Probes and scrapes: the gateway's own health checks would drown the traffic of users. */
const unlisted = new Set(['/health', '/health/live', '/health/ready', '/metrics', '/spans']);

async function scrape(instance: UpstreamInstance, timeoutMs: number): Promise<Sample[] | undefined> {
  try {
    const response = await fetch(`${instance.url}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    return parseSamples(await response.text(), wanted);
  } catch {
    return undefined;
  }
}

interface RouteTotals {
  service: string;
  method: string;
  route: string;
  requests: number;
  errors: number;
  durationSeconds: number;
  buckets: Map<number, number>;
}

/** Every route's totals summed over the instances that answered (and over statuses). */
function routeTotals(samples: Sample[], bounds: Set<number>): RouteTotals[] {
  const routes = new Map<string, RouteTotals>();
  for (const { name, labels, value } of samples) {
    if (!name.startsWith(histogram) || unlisted.has(labels.route ?? '')) continue;
    const key = `${labels.service} ${labels.method} ${labels.route}`;
    let totals = routes.get(key);
    if (!totals) {
      totals = {
        service: labels.service ?? 'unknown',
        method: labels.method ?? '',
        route: labels.route ?? '',
        requests: 0,
        errors: 0,
        durationSeconds: 0,
        buckets: new Map(),
      };
      routes.set(key, totals);
    }
    if (name.endsWith('_count')) {
      totals.requests += value;
      if (Number(labels.status) >= 500) totals.errors += value;
    } else if (name.endsWith('_sum')) {
      totals.durationSeconds += value;
    } else if (labels.le !== '+Inf') {
      const bound = Number(labels.le);
      bounds.add(bound);
      totals.buckets.set(bound, (totals.buckets.get(bound) ?? 0) + value);
    }
  }
  return [...routes.values()];
}

const total = (samples: Sample[], name: string) =>
  samples.reduce((sum, sample) => (sample.name === name ? sum + sample.value : sum), 0);

/**
 * `GET /v1/traffic`: the counters of the gateway and of each service instance, read from their
 * `/metrics` now, plus each instance's circuit breaker and outbox backlog, for the console's Traffic
 * and Map pages. Nothing is collected in the background: the cost is paid when an admin asks.
 */
type Dependency = InstanceState['dependencies'][number];
const dependencyName = /^[a-z][a-z0-9-]{0,63}$/;

/** An instance's dependencies, from its own health report (which answers 503 when one is down). */
async function dependenciesOf(instance: UpstreamInstance, timeoutMs: number): Promise<Dependency[]> {
  try {
    const response = await fetch(`${instance.url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    const report = (await response.json()) as {
      checks?: Record<string, { status?: string; latency?: number }>;
    };
    return Object.entries(report.checks ?? {})
      .filter(([name]) => dependencyName.test(name))
      .slice(0, 20)
      .map(([name, check]) => ({
        name,
        status: check.status === 'up' ? 'up' : 'down',
        latency: Math.max(0, Math.round(Number(check.latency) || 0)),
      }));
  } catch {
    return [];
  }
}

export async function traffic(app: FastifyInstance, options: TrafficOptions): Promise<void> {
  const timeoutMs = options.instanceTimeoutMs ?? 2000;
  const instances = Object.values(options.upstreams.services).flatMap((service) =>
    service.instances.map((instance) => ({ service: service.name, instance })),
  );

  /**
   * The gateway's own samples and each instance's: from their `/metrics` now, or, with a Prometheus
   * server configured, from its latest scrape of every target (an instance it does not scrape, or a
   * server that does not answer, leaves that part out, as an instance that does not answer does).
   */
  const readSamples = async (): Promise<{ own: Sample[]; scraped: Array<Sample[] | undefined> }> => {
    const prometheusUrl = options.prometheusUrl;
    if (prometheusUrl === undefined) {
      const [own, ...scraped] = await Promise.all([
        app.metrics.metrics().then((text) => parseSamples(text, wanted)),
        ...instances.map(({ instance }) => scrape(instance, timeoutMs)),
      ]);
      return { own, scraped };
    }
    const all = await queryPrometheus(prometheusUrl, families, timeoutMs).catch((error: unknown) => {
      app.log.warn({ err: error }, 'Prometheus unreachable: the traffic snapshot has no counters');
      return [];
    });
    const byInstance = Map.groupBy(all, (sample) => sample.labels.instance ?? '');
    const scraped = instances.map(({ instance }) => byInstance.get(prometheusInstance(instance.url)));
    const known = new Set(instances.map(({ instance }) => prometheusInstance(instance.url)));
    // What is not one of the services' instances is the gateway (this one and its peers).
    return { own: all.filter((sample) => !known.has(sample.labels.instance ?? '')), scraped };
  };

  registerOperation(
    app,
    trafficOperations.getTraffic,
    async (): Promise<TrafficSnapshot> => {
      const [{ own, scraped }, gateways] = await Promise.all([
        readSamples(),
        Promise.all((options.peerUrls ?? []).map((url) => probePeer(url, timeoutMs))),
      ]);
      const reports = await Promise.all(instances.map(({ instance }) => dependenciesOf(instance, timeoutMs)));
      const all = [own, ...scraped.filter((samples) => samples !== undefined)].flat();
      const bounds = new Set<number>();
      const totals = routeTotals(all, bounds);
      const bucketBounds = [...bounds].sort((a, b) => a - b);
      const routes: RouteTraffic[] = totals.map((route) => ({
        service: route.service,
        method: route.method,
        route: route.route,
        requests: route.requests,
        errors: route.errors,
        durationSeconds: route.durationSeconds,
        buckets: bucketBounds.map((bound) => route.buckets.get(bound) ?? 0),
      }));
      const rateLimitRefusals: Record<string, number> = {};
      for (const sample of own) {
        if (sample.name !== 'gateway_rate_limit_rejections_total') continue;
        const bucket = sample.labels.bucket ?? 'general';
        rateLimitRefusals[bucket] = (rateLimitRefusals[bucket] ?? 0) + sample.value;
      }
      return {
        sampledAt: isoTimestamp(new Date()),
        source: options.prometheusUrl === undefined ? 'services' : 'prometheus',
        bucketBounds,
        routes,
        rateLimitRefusals,
        cache: { hits: total(all, 'cache_hits_total'), misses: total(all, 'cache_misses_total') },
        instances: instances.map(({ service, instance }, index) => {
          const samples = scraped[index];
          return {
            service,
            instance: instance.name,
            up: instance.available,
            breaker: instance.breaker.state,
            outboxBacklog: samples ? total(samples, 'events_outbox_backlog') : null,
            dependencies: reports[index] ?? [],
          };
        }),
        gateways,
      };
    },
    { config: { api: true } },
  );
}
