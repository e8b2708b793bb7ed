import type { DeadLetterStore } from './dead-letters.ts';
import type { EventEnvelope } from './envelope.ts';
import type { EventLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';

/**
 * How events leave a service and reach the others. Two adapters: NATS JetStream (`NATS_URL` set) and
 * an in-process bus; both give at-least-once delivery with bounded redelivery and a dead letter, so
 * nothing above this port knows which one runs.
 */
export interface EventTransport {
  readonly kind: 'nats' | 'in-process';
  /**
   * Stores the events, in this order, or rejects (`TransportUnavailableError` while the broker is
   * unreachable). The relay marks outbox rows published only after this resolves.
   */
  publish(events: readonly EventEnvelope[]): Promise<void>;
  /** Starts a durable consumer: every instance of a service uses the same `durable` name. */
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** For the `bus` health check: resolves when the transport can take events now. */
  check(): Promise<void>;
  /** The events its consumers gave up on, for inspection, replay and discard. */
  readonly deadLetterStore?: DeadLetterStore;
  /** Stops every subscription and lets go of the broker. */
  close(): Promise<void>;
}

export interface SubscribeOptions {
  /** The durable consumer's name, normally the consuming service's (`orders`). */
  durable: string;
  /** Event types delivered to `handle`; others on the same subjects are acknowledged and skipped. */
  types: readonly string[];
  /**
   * Handles one delivery. Resolving acknowledges it (call it only after the effect has committed);
   * rejecting asks for a redelivery after a backoff, until `maxDeliver` attempts, then the event goes
   * to the dead letters. A `PoisonEventError` goes to the dead letters at once.
   */
  handle(event: EventEnvelope, delivery: Delivery): Promise<void>;
  /** Attempts before an event is dead-lettered (JetStream `max_deliver`). */
  maxDeliver: number;
  /** Delay before the second attempt; doubled for each further one, up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
  /** JetStream `ack_wait`: an attempt not acknowledged by then (a crashed consumer) is redelivered. */
  ackWaitMs: number;
  /** The consuming service's logger and counters (the transport's own otherwise). */
  log?: EventLog;
  metrics?: EventMetrics;
}

export interface Delivery {
  /** 1 on the first delivery. */
  attempt: number;
}

export interface Subscription {
  close(): Promise<void>;
}

export class TransportUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportUnavailableError';
  }
}

/** Delay before attempt `attempt + 1`: exponential from `backoffMs`, capped. */
export function redeliveryDelay(
  attempt: number,
  options: Pick<SubscribeOptions, 'backoffMs' | 'maxBackoffMs'>,
) {
  return Math.min(options.maxBackoffMs, options.backoffMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * The narrowest subject filter covering `types`: `user.created` and `user.deleted` → `user.>`. A
 * consumer filters on one subject so that it works on every JetStream server version.
 */
export function subjectFilter(prefix: string, types: readonly string[]): string {
  const split = types.map((type) => type.split('.'));
  const common: string[] = [];
  for (let i = 0; split.every((tokens) => tokens.length > i + 1 && tokens[i] === split[0]![i]); i++) {
    common.push(split[0]![i]!);
  }
  if (types.length === 1) return `${prefix}.${types[0]}`;
  return [prefix, ...common, '>'].join('.');
}

/** Where a consumer's dead letters go: `events.dead.orders.user.deleted`. */
export function deadLetterSubject(prefix: string, durable: string, type: string): string {
  return `${prefix}.dead.${durable}.${type}`;
}
