import { Counter, Gauge, Registry } from 'prom-client';

interface InstanceState {
  service: string;
  instance: string;
  up: boolean;
}

/**
 * The gateway's own counters, in a registry per gateway (several may share a process in tests).
 * Nothing exposes it yet; a `/metrics` route can serve `registry.metrics()`.
 */
export class GatewayMetrics {
  readonly registry = new Registry();

  /** Requests let through without a limit because Redis did not answer. */
  readonly rateLimitStoreErrors = new Counter({
    name: 'gateway_rate_limit_store_errors_total',
    help: 'Rate-limit lookups that failed because the shared store (Redis) did not answer',
    labelNames: ['bucket', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly upstreamFailures = new Counter({
    name: 'gateway_upstream_failures_total',
    help: 'Calls to an upstream instance that failed at the transport level',
    labelNames: ['service', 'instance', 'kind'] as const,
    registers: [this.registry],
  });

  readonly upstreamRetries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Requests retried on another instance after a connection error',
    labelNames: ['service'] as const,
    registers: [this.registry],
  });

  #instances: () => InstanceState[] = () => [];

  constructor() {
    const read = () => this.#instances();
    new Gauge({
      name: 'gateway_upstream_instance_up',
      help: '1 when an upstream instance takes traffic (healthy and its circuit closed), else 0',
      labelNames: ['service', 'instance'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const state of read())
          this.set({ service: state.service, instance: state.instance }, state.up ? 1 : 0);
      },
    });
  }

  observeInstances(read: () => InstanceState[]): void {
    this.#instances = read;
  }
}
