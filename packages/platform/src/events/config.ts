import { ConfigError, readInt, readString, readUrlList } from '../config.ts';

type Env = Record<string, string | undefined>;

/** Settings of the event machinery, the same for every service. */
export interface EventsConfig {
  /**
   * `NATS_URL`: JetStream when set, the in-process bus otherwise. Several servers of one cluster,
   * comma-separated: the client connects to one and moves to another when it is lost.
   */
  natsUrl?: string;
  /** `EVENTS_STREAM`: the JetStream stream; subjects are its name in lower case, `events.<type>`. */
  stream: string;
  /** `EVENTS_MAX_DELIVER`: attempts at handling an event before it goes to the dead letters. */
  maxDeliver: number;
  /** `EVENTS_RETRY_BACKOFF_MS`: delay before the second attempt, doubled for each further one. */
  retryBackoffMs: number;
  /** `EVENTS_ACK_WAIT_MS`: an attempt not acknowledged by then (a crashed consumer) is redelivered. */
  ackWaitMs: number;
  /** `EVENTS_RETENTION_HOURS`: how long the stream and the outbox keep published events. */
  retentionHours: number;
  /** `OUTBOX_POLL_INTERVAL_MS`: the relay's safety-net poll (it is woken after each commit anyway). */
  outboxPollIntervalMs: number;
  /** `OUTBOX_BATCH_SIZE`: rows the relay publishes per round trip. */
  outboxBatchSize: number;
}

export function readEventsConfig(env: Env = process.env): EventsConfig {
  const stream = readString(env, 'EVENTS_STREAM', 'EVENTS');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(stream)) {
    throw new ConfigError('EVENTS_STREAM', `must be 1 to 64 letters, digits, "_" or "-", got "${stream}"`);
  }
  return {
    natsUrl: readUrlList(env, 'NATS_URL', ['nats:', 'tls:'])?.join(','),
    stream,
    maxDeliver: readInt(env, 'EVENTS_MAX_DELIVER', 5, { min: 1, max: 100 }),
    retryBackoffMs: readInt(env, 'EVENTS_RETRY_BACKOFF_MS', 500, { min: 1, max: 600_000 }),
    ackWaitMs: readInt(env, 'EVENTS_ACK_WAIT_MS', 30_000, { min: 1000, max: 3_600_000 }),
    retentionHours: readInt(env, 'EVENTS_RETENTION_HOURS', 168, { min: 1, max: 24 * 365 }),
    outboxPollIntervalMs: readInt(env, 'OUTBOX_POLL_INTERVAL_MS', 1000, { min: 50, max: 600_000 }),
    outboxBatchSize: readInt(env, 'OUTBOX_BATCH_SIZE', 100, { min: 1, max: 1000 }),
  };
}
