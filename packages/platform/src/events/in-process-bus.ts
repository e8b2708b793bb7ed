import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { type DeadLetterStore, deadLetterId, type StoredDeadLetter } from './dead-letters.ts';
import { type EventEnvelope, PoisonEventError } from './envelope.ts';
import { type EventLog, silentLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';
import {
  type EventTransport,
  redeliveryDelay,
  type SubscribeOptions,
  type Subscription,
  TransportUnavailableError,
} from './transport.ts';

export interface DeadLetter {
  durable: string;
  event: EventEnvelope;
  attempts: number;
  error: string;
  at: Date;
}

export interface InProcessBusOptions {
  log?: EventLog;
  metrics?: EventMetrics;
  /** Events kept for durable consumers that subscribe later (JetStream keeps them in the stream). */
  maxRetained?: number;
  /** Dead letters kept for inspection. */
  maxDeadLetters?: number;
}

interface Entry {
  seq: number;
  event: EventEnvelope;
}

interface Subscriber {
  handle: SubscribeOptions['handle'];
  /** Resolves when this subscriber is closed: a delivery in flight is then abandoned, like a crash. */
  closed: Promise<'closed'>;
  close: () => void;
}

interface Durable {
  name: string;
  types: Set<string>;
  options: SubscribeOptions;
  /** The next log sequence this consumer has not settled (JetStream's ack floor + 1). */
  next: number;
  attempts: Map<number, number>;
  subscribers: Subscriber[];
  turn: number;
  pumping: boolean;
}

/**
 * The in-process adapter of the event transport, for the embedded mode. Hand-written because it is
 * small and must mirror JetStream's semantics exactly, which no in-memory emitter library does:
 *
 * - durable consumers: each named consumer receives every event of its types once, in publication
 *   order, however many subscribers share the name; a consumer that subscribes late (or again,
 *   after its service restarted in the same process) resumes from where it stopped, from a
 *   retained log like a stream;
 * - at-least-once: a delivery is settled only when the handler resolves; a rejection is retried
 *   after an exponential backoff, a subscriber closed mid-delivery (a crash) leaves it to be
 *   redelivered, and after `maxDeliver` attempts the event goes to the dead letters (logged,
 *   counted, kept in `deadLetters`), and the consumer moves on;
 * - `publish` resolves once every consumer subscribed at that moment has settled the events. The
 *   relay marks outbox rows published only then, so even a crash of the whole process loses
 *   nothing: unsettled events are still in the outbox at the next start.
 */
export class InProcessBus implements EventTransport {
  readonly kind = 'in-process' as const;
  readonly deadLetters: DeadLetter[] = [];
  /** The dead letters as the admin operations see them (list, replay, discard). */
  readonly deadLetterStore: DeadLetterStore = {
    list: async (consumers) =>
      this.deadLetters
        .filter((deadLetter) => consumers.includes(deadLetter.durable))
        .map((deadLetter) => storedOf(deadLetter)),
    remove: async (stored) => {
      const index = this.deadLetters.findIndex((deadLetter) => storedOf(deadLetter).id === stored.id);
      if (index === -1) return false;
      this.deadLetters.splice(index, 1);
      return true;
    },
    update: async (stored, change) => {
      const found = this.deadLetters.find((deadLetter) => storedOf(deadLetter).id === stored.id);
      if (found) {
        found.attempts = change.attempts;
        found.error = change.error;
      }
    },
  };

  readonly #log: EventLog;
  readonly #metrics?: EventMetrics;
  readonly #maxRetained: number;
  readonly #maxDeadLetters: number;
  #entries: Entry[] = [];
  #nextSeq = 1;
  readonly #durables = new Map<string, Durable>();
  #waiters: Array<{ seq: number; durables: Durable[]; resolve: () => void }> = [];
  #closed = false;

  constructor(options: InProcessBusOptions = {}) {
    this.#log = options.log ?? silentLog;
    this.#metrics = options.metrics;
    this.#maxRetained = options.maxRetained ?? 10_000;
    this.#maxDeadLetters = options.maxDeadLetters ?? 1000;
  }

  async publish(events: readonly EventEnvelope[]): Promise<void> {
    if (this.#closed) throw new TransportUnavailableError('the in-process bus is closed');
    if (events.length === 0) return;
    for (const event of events) this.#entries.push({ seq: this.#nextSeq++, event });
    if (this.#entries.length > this.#maxRetained) {
      this.#entries.splice(0, this.#entries.length - this.#maxRetained);
    }
    const last = this.#nextSeq - 1;
    const types = new Set(events.map((event) => event.type));
    const waiting = [...this.#durables.values()].filter(
      (durable) => durable.subscribers.length > 0 && [...types].some((type) => durable.types.has(type)),
    );
    for (const durable of waiting) void this.#pump(durable);
    if (waiting.length === 0) return;
    await new Promise<void>((resolve) => {
      this.#waiters.push({ seq: last, durables: waiting, resolve });
      this.#settleWaiters();
    });
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new TransportUnavailableError('the in-process bus is closed');
    let durable = this.#durables.get(options.durable);
    if (!durable) {
      durable = {
        name: options.durable,
        types: new Set(options.types),
        options,
        // A new durable consumer starts at the oldest retained event (JetStream's `deliver_policy: all`).
        next: this.#entries[0]?.seq ?? this.#nextSeq,
        attempts: new Map(),
        subscribers: [],
        turn: 0,
        pumping: false,
      };
      this.#durables.set(options.durable, durable);
    } else {
      // The latest subscriber's configuration wins, as when a restarted service updates its consumer.
      durable.options = options;
      durable.types = new Set(options.types);
    }
    let close!: () => void;
    const closed = new Promise<'closed'>((resolve) => {
      close = () => resolve('closed');
    });
    const subscriber: Subscriber = { handle: options.handle, closed, close };
    durable.subscribers.push(subscriber);
    void this.#pump(durable);
    const owner = durable;
    return {
      close: async () => {
        const index = owner.subscribers.indexOf(subscriber);
        if (index !== -1) owner.subscribers.splice(index, 1);
        subscriber.close();
        this.#settleWaiters();
      },
    };
  }

  async check(): Promise<void> {
    if (this.#closed) throw new Error('the in-process bus is closed');
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const durable of this.#durables.values()) {
      for (const subscriber of durable.subscribers.splice(0)) subscriber.close();
    }
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  async #pump(durable: Durable): Promise<void> {
    if (durable.pumping) return;
    durable.pumping = true;
    try {
      while (durable.subscribers.length > 0 && !this.#closed) {
        const oldest = this.#entries[0]?.seq ?? this.#nextSeq;
        if (durable.next < oldest) {
          this.#log.error(
            { consumer: durable.name, missed: oldest - durable.next },
            'events dropped from the in-process bus before this consumer read them',
          );
          durable.next = oldest;
        }
        if (durable.next >= this.#nextSeq) break;
        const entry = this.#entries[durable.next - oldest]!;
        if (!durable.types.has(entry.event.type)) {
          this.#advance(durable);
          continue;
        }
        await this.#deliver(durable, entry);
      }
    } finally {
      durable.pumping = false;
      this.#settleWaiters();
    }
  }

  async #deliver(durable: Durable, entry: Entry): Promise<void> {
    const { options } = durable;
    const metrics = options.metrics ?? this.#metrics;
    const log = options.log ?? this.#log;
    const labels = { consumer: durable.name, type: entry.event.type };
    const attempt = (durable.attempts.get(entry.seq) ?? 0) + 1;
    durable.attempts.set(entry.seq, attempt);
    if (attempt > 1) metrics?.redeliveries.inc(labels);
    if (attempt > options.maxDeliver) {
      // Earlier attempts ended without a verdict (their subscriber went away): give up like JetStream.
      this.#deadLetter(durable, entry, attempt - 1, new Error('no attempt completed'));
      return;
    }
    const subscriber = durable.subscribers[durable.turn++ % durable.subscribers.length]!;
    let outcome: 'done' | 'closed';
    // Like JetStream's ack_wait: an attempt that neither settles nor fails in time is given up on
    // and redelivered (if it completes later, the consumer's inbox absorbs the redelivery).
    let timer: NodeJS.Timeout | undefined;
    const ackWait = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`not acknowledged within ${options.ackWaitMs} ms`)),
        options.ackWaitMs,
      );
    });
    try {
      outcome = await Promise.race([
        subscriber.handle(entry.event, { attempt }).then(() => 'done' as const),
        subscriber.closed,
        ackWait,
      ]);
    } catch (error) {
      clearTimeout(timer);
      metrics?.handlerFailures.inc(labels);
      // This service's database cannot be reached: not the event's fault, so the try does not count
      // towards the dead letters, however long the outage lasts.
      const unavailable = isDatabaseUnavailable(error) && !(error instanceof PoisonEventError);
      if (unavailable) durable.attempts.set(entry.seq, attempt - 1);
      else if (error instanceof PoisonEventError || attempt >= options.maxDeliver) {
        this.#deadLetter(durable, entry, attempt, error);
        return;
      }
      const delay = redeliveryDelay(attempt, options);
      log.warn(
        {
          err: error,
          consumer: durable.name,
          eventId: entry.event.id,
          type: entry.event.type,
          attempt,
          retryInMs: delay,
        },
        'event handler failed; will redeliver',
      );
      // Wait out the backoff, unless the subscriber goes away meanwhile (another may take over).
      let backoff: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise((resolve) => {
          backoff = setTimeout(resolve, delay);
        }),
        subscriber.closed,
      ]);
      clearTimeout(backoff);
      return;
    }
    clearTimeout(timer);
    // A subscriber closed mid-delivery never acknowledged: the event is delivered again.
    if (outcome === 'done') this.#advance(durable);
  }

  #deadLetter(durable: Durable, entry: Entry, attempts: number, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    (durable.options.metrics ?? this.#metrics)?.deadLetters.inc({
      consumer: durable.name,
      type: entry.event.type,
    });
    (durable.options.log ?? this.#log).error(
      { err: error, consumer: durable.name, eventId: entry.event.id, type: entry.event.type, attempts },
      'event sent to the dead letters',
    );
    this.deadLetters.push({
      durable: durable.name,
      event: entry.event,
      attempts,
      error: message,
      at: new Date(),
    });
    if (this.deadLetters.length > this.#maxDeadLetters) this.deadLetters.shift();
    this.#advance(durable);
  }

  #advance(durable: Durable): void {
    durable.attempts.delete(durable.next);
    durable.next++;
    this.#settleWaiters();
  }

  /** Resolves the publishes whose events every consumer they waited for has settled (or left). */
  #settleWaiters(): void {
    this.#waiters = this.#waiters.filter((waiter) => {
      const pending = waiter.durables.some(
        (durable) => durable.subscribers.length > 0 && durable.next <= waiter.seq,
      );
      if (!pending) waiter.resolve();
      return pending;
    });
  }
}

function storedOf(deadLetter: DeadLetter): StoredDeadLetter {
  return {
    id: deadLetterId(deadLetter.durable, deadLetter.event.id),
    consumer: deadLetter.durable,
    event: deadLetter.event,
    attempts: deadLetter.attempts,
    error: deadLetter.error,
    at: deadLetter.at,
  };
}

/**
 * In embedded mode the services of one process share one bus per stream name: the users service
 * publishes on it and the orders service consumes from it. Each caller gets its own handle; closing
 * a handle ends only its own subscriptions, and the bus goes when the last handle closes.
 */
const sharedBuses = new Map<string, { bus: InProcessBus; handles: number }>();

export function sharedInProcessBus(stream: string, options: InProcessBusOptions = {}): EventTransport {
  let shared = sharedBuses.get(stream);
  if (!shared) {
    shared = { bus: new InProcessBus(options), handles: 0 };
    sharedBuses.set(stream, shared);
  }
  shared.handles++;
  const { bus } = shared;
  const subscriptions = new Set<Subscription>();
  let closed = false;
  return {
    kind: 'in-process',
    publish: (events) => bus.publish(events),
    deadLetterStore: bus.deadLetterStore,
    async subscribe(options) {
      const subscription = await bus.subscribe(options);
      subscriptions.add(subscription);
      return {
        close: async () => {
          subscriptions.delete(subscription);
          await subscription.close();
        },
      };
    },
    check: () => (closed ? Promise.reject(new Error('closed')) : bus.check()),
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
      const entry = sharedBuses.get(stream);
      if (entry && --entry.handles === 0) {
        sharedBuses.delete(stream);
        await entry.bus.close();
      }
    },
  };
}
