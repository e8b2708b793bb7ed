import { CircuitBreaker } from '@armature/platform/resilience/index';
import type { FastifyBaseLogger } from 'fastify';
import { InProcessTransport, type LocalApp } from './in-process-transport.ts';
import type { GatewayMetrics } from './metrics.ts';
import { HttpTransport, type UpstreamTransport } from './transports.ts';
import { isInstanceFailure } from './upstream-errors.ts';

export interface UpstreamSettings {
  connections: number;
  connectTimeoutMs: number;
  timeoutMs: number;
  healthIntervalMs: number;
  breakerFailures: number;
  breakerHalfOpenAfterMs: number;
}

const probeTimeoutMs = 1500;

/**
 * One instance of a service: its transport (a keep-alive connection pool, or the service's app in
 * this process), a circuit breaker fed by real traffic, and the verdict of its last health probe. It
 * takes traffic while both agree.
 */
export class UpstreamInstance {
  readonly name: string;
  readonly url: string;
  readonly transport: UpstreamTransport;
  readonly breaker: CircuitBreaker;
  /** Verdict of the last `/health/ready` probe (optimistic until the first one). */
  healthy = true;
  #probe: Promise<void> | undefined;
  readonly #log: FastifyBaseLogger;

  constructor(
    name: string,
    url: string,
    settings: UpstreamSettings,
    log: FastifyBaseLogger,
    local?: LocalApp,
  ) {
    this.name = name;
    this.url = url;
    this.#log = log;
    this.transport = local
      ? new InProcessTransport(url, local, { timeoutMs: settings.timeoutMs })
      : new HttpTransport(url, settings);
    this.breaker = new CircuitBreaker({
      failureThreshold: settings.breakerFailures,
      halfOpenAfterMs: settings.breakerHalfOpenAfterMs,
      isFailure: isInstanceFailure,
    });
    this.breaker.onStateChange((state) => {
      const level = state === 'open' ? 'warn' : 'info';
      this.#log[level]({ upstream: this.name, url: this.url, breaker: state }, `upstream circuit ${state}`);
    });
  }

  /** Can take a request now: healthy and the breaker lets it through. */
  get available(): boolean {
    return this.healthy && this.breaker.acceptsCalls;
  }

  /**
   * Asks the instance's `/health/ready` and records the verdict. Concurrent callers (the periodic
   * loop, `/health`) share one probe. Resolves when up, rejects with the reason when down.
   */
  probe(): Promise<void> {
    this.#probe ??= this.#runProbe().finally(() => {
      this.#probe = undefined;
    });
    return this.#probe;
  }

  async #runProbe(): Promise<void> {
    let failure: Error | undefined;
    try {
      const response = await this.transport.send({
        method: 'GET',
        path: '/health/ready',
        headers: {},
        body: null,
        timeoutMs: probeTimeoutMs,
      });
      if (response.status !== 200) failure = new Error(`answered ${response.status}`);
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    const healthy = failure === undefined;
    if (healthy !== this.healthy) {
      if (healthy) this.#log.info({ upstream: this.name, url: this.url }, 'upstream instance healthy again');
      else
        this.#log.warn(
          { upstream: this.name, url: this.url, reason: failure?.message },
          'upstream instance failed its health check',
        );
    }
    this.healthy = healthy;
    if (failure) throw failure;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

/** All instances of one service, balanced round-robin over those available. */
export class UpstreamService {
  readonly name: string;
  readonly instances: UpstreamInstance[];
  #next = 0;

  constructor(name: string, instances: UpstreamInstance[]) {
    this.name = name;
    this.instances = instances;
  }

  /**
   * The next instance to send a request to, skipping `exclude` (the one that just failed). Prefers
   * instances that are healthy and whose breaker is closed; when health probes have failed for all
   * of them but some breaker still lets calls through, tries those rather than refusing outright
   * (probes can lag behind a recovery). Undefined when every breaker is open.
   */
  pick(exclude?: UpstreamInstance): UpstreamInstance | undefined {
    const instances = this.instances;
    const count = instances.length;
    const start = this.#next;
    let fallback: UpstreamInstance | undefined;
    for (let i = 0; i < count; i++) {
      const instance = instances[(start + i) % count];
      if (instance === exclude) continue;
      if (instance.available) {
        this.#next = (start + i + 1) % count;
        return instance;
      }
      if (!fallback && instance.breaker.acceptsCalls) fallback = instance;
    }
    return fallback;
  }

  /** How long until some instance may take calls again (for `Retry-After`). */
  retryAfterMs(): number {
    return Math.min(...this.instances.map((instance) => instance.breaker.retryAfterMs));
  }
}

export interface Upstreams {
  services: Record<string, UpstreamService>;
  /** Probes every instance now and then every `healthIntervalMs`. */
  startHealthChecks(): void;
  close(): Promise<void>;
}

/**
 * The instances of each service. An instance whose URL is in `local` is a service running in this
 * process (embedded mode): requests reach it in process, not over its port.
 */
export function createUpstreams(
  urls: Record<string, string[]>,
  settings: UpstreamSettings,
  log: FastifyBaseLogger,
  metrics: GatewayMetrics,
  local: ReadonlyMap<string, LocalApp> = new Map(),
): Upstreams {
  const services: Record<string, UpstreamService> = {};
  for (const [name, list] of Object.entries(urls)) {
    const instances = list.map(
      (url, index) => new UpstreamInstance(`${name}-${index + 1}`, url, settings, log, local.get(url)),
    );
    services[name] = new UpstreamService(name, instances);
  }
  const all = Object.values(services).flatMap((service) => service.instances);
  metrics.observeInstances(() =>
    Object.values(services).flatMap((service) =>
      service.instances.map((instance) => ({
        service: service.name,
        instance: instance.name,
        up: instance.available,
        breaker: instance.breaker.state,
      })),
    ),
  );
  let timer: NodeJS.Timeout | undefined;
  return {
    services,
    startHealthChecks() {
      const probeAll = () => {
        for (const instance of all) instance.probe().catch(() => {});
      };
      probeAll();
      timer = setInterval(probeAll, settings.healthIntervalMs);
      timer.unref();
    },
    async close() {
      clearInterval(timer);
      await Promise.all(all.map((instance) => instance.close()));
    },
  };
}
