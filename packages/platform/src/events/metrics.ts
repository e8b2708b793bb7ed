import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface OutboxState {
  /** Rows written but not yet published. */
  backlog: number;
  /** Age in seconds of the oldest unpublished row (0 when none). */
  oldestAgeSeconds: number;
}

/**
 * The event machinery's counters, in a registry per service (several services share a process when
 * embedded). A `/metrics` route serves `registry.metrics()`, or merges it into the service's registry.
 */
export class EventMetrics {
  readonly registry: Registry;

  readonly published: Counter<'type'>;
  readonly publishFailures: Counter<'reason'>;
  /** Time from the change's commit (the event's timestamp) to its publication. */
  readonly relayDelay: Histogram;
  readonly consumed: Counter<'consumer' | 'type' | 'outcome'>;
  readonly redeliveries: Counter<'consumer' | 'type'>;
  readonly deadLetters: Counter<'consumer' | 'type'>;
  readonly handlerFailures: Counter<'consumer' | 'type'>;

  #outboxState: () => Promise<OutboxState | undefined> = async () => undefined;

  constructor(options: { registry?: Registry } = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    this.published = new Counter({
      name: 'events_published_total',
      help: 'Outbox events published to the transport',
      labelNames: ['type'] as const,
      registers,
    });
    this.publishFailures = new Counter({
      name: 'events_publish_failures_total',
      help: 'Relay batches that could not be published (the rows stay in the outbox)',
      labelNames: ['reason'] as const,
      registers,
    });
    this.relayDelay = new Histogram({
      name: 'events_relay_delay_seconds',
      help: 'Time from an event being written to the outbox to its publication',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.consumed = new Counter({
      name: 'events_consumed_total',
      help: 'Deliveries settled by a consumer: handled, duplicate (already in the inbox) or skipped',
      labelNames: ['consumer', 'type', 'outcome'] as const,
      registers,
    });
    this.redeliveries = new Counter({
      name: 'events_redeliveries_total',
      help: 'Deliveries of an event a consumer had already received (after a failure or a crash)',
      labelNames: ['consumer', 'type'] as const,
      registers,
    });
    this.deadLetters = new Counter({
      name: 'events_dead_letters_total',
      help: 'Events given up on after the configured attempts (or unreadable), sent to the dead letters',
      labelNames: ['consumer', 'type'] as const,
      registers,
    });
    this.handlerFailures = new Counter({
      name: 'events_handler_failures_total',
      help: 'Handler attempts that failed (each is retried until the attempts run out)',
      labelNames: ['consumer', 'type'] as const,
      registers,
    });
    const read = () => this.#outboxState();
    new Gauge({
      name: 'events_outbox_backlog',
      help: 'Outbox rows not yet published',
      registers,
      async collect() {
        const state = await read().catch(() => undefined);
        if (state) this.set(state.backlog);
      },
    });
    new Gauge({
      name: 'events_relay_lag_seconds',
      help: 'Age of the oldest outbox row not yet published (0 when the outbox is drained)',
      registers,
      async collect() {
        const state = await read().catch(() => undefined);
        if (state) this.set(state.oldestAgeSeconds);
      },
    });
  }

  /** The relay tells the gauges how to read the outbox when they are scraped. */
  observeOutbox(read: () => Promise<OutboxState | undefined>): void {
    this.#outboxState = read;
  }
}
