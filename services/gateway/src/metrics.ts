import { Counter, Gauge, type Registry } from 'prom-client';

interface InstanceState {
  service: string;
  instance: string;
  up: boolean;
  breaker: 'closed' | 'open' | 'half-open';
}

const breakerStates = ['closed', 'open', 'half-open'] as const;

/**
 * The gateway's own counters, registered in its server's registry (served at `/metrics`); one set
 * per gateway, so several gateways in one process keep their figures apart.
 */
export class GatewayMetrics {
  readonly registry: Registry;

  /** Requests let through without a limit (or limited in-process) because Redis did not answer. */
  readonly rateLimitStoreErrors: Counter<'bucket' | 'outcome'>;
  readonly upstreamFailures: Counter<'service' | 'instance' | 'kind'>;
  readonly upstreamRetries: Counter<'service'>;
  /** Requests refused with 429, by bucket (`general`, `login`). */
  readonly rateLimitRejections: Counter<'bucket'>;

  #instances: () => InstanceState[] = () => [];
  /** API requests by caller, plan and status class, added up here and read at collection time. */
  readonly #apiRequests = new Map<string, number>();

  constructor(registry: Registry) {
    this.registry = registry;
    this.rateLimitStoreErrors = new Counter({
      name: 'gateway_rate_limit_store_errors_total',
      help: 'Rate-limit lookups that failed because the shared store (Redis) did not answer',
      labelNames: ['bucket', 'outcome'] as const,
      registers: [registry],
    });
    this.upstreamFailures = new Counter({
      name: 'gateway_upstream_failures_total',
      help: 'Calls to an upstream instance that failed at the transport level',
      labelNames: ['service', 'instance', 'kind'] as const,
      registers: [registry],
    });
    this.upstreamRetries = new Counter({
      name: 'gateway_upstream_retries_total',
      help: 'Requests retried on another instance after a connection error',
      labelNames: ['service'] as const,
      registers: [registry],
    });
    this.rateLimitRejections = new Counter({
      name: 'gateway_rate_limit_rejections_total',
      help: 'Requests refused with 429 because the caller’s bucket was empty, by bucket',
      labelNames: ['bucket'] as const,
      registers: [registry],
    });
    const apiRequests = this.#apiRequests;
    new Counter({
      name: 'gateway_api_requests_total',
      help: 'API requests answered, by kind of caller (api_key, token, anonymous), plan and status class',
      labelNames: ['caller', 'plan', 'status_class'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, count] of apiRequests) {
          const [caller, plan, statusClass] = labels.split('|');
          this.inc({ caller, plan, status_class: statusClass }, count);
        }
      },
    });
    const read = () => this.#instances();
    new Gauge({
      name: 'gateway_upstream_instance_up',
      help: '1 when an upstream instance takes traffic (healthy and its circuit closed), else 0',
      labelNames: ['service', 'instance'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const state of read())
          this.set({ service: state.service, instance: state.instance }, state.up ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gateway_circuit_breaker_state',
      help: 'The circuit breaker of each upstream instance: 1 for its current state, 0 for the others',
      labelNames: ['service', 'instance', 'state'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const { service, instance, breaker } of read()) {
          for (const state of breakerStates)
            this.set({ service, instance, state }, state === breaker ? 1 : 0);
        }
      },
    });
  }

  /** Gauges read when scraped: whether each instance takes traffic, and its circuit's state. */
  observeInstances(read: () => InstanceState[]): void {
    this.#instances = read;
  }

  /** One API request answered; `statusClass` is 0 for 2xx … 3 for 5xx. */
  countApiRequest(caller: string, plan: string, statusClass: number): void {
    const labels = `${caller}|${plan}|${statusClass + 2}xx`;
    this.#apiRequests.set(labels, (this.#apiRequests.get(labels) ?? 0) + 1);
  }
}
