import {
  DiscardPolicy,
  JetStreamApiCodes,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import type { DeadLetterStore } from './dead-letters.ts';
import { type EventEnvelope, encodeEvent, subjectOf } from './envelope.ts';
import { type EventLog, silentLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';
import { natsDeadLetterStore } from './nats-dead-letters.ts';
import { isApiError, messageOf, redact } from './nats-helpers.ts';
import { NatsSubscription } from './nats-subscription.ts';
import {
  type EventTransport,
  type SubscribeOptions,
  type Subscription,
  TransportUnavailableError,
} from './transport.ts';

export interface NatsTransportOptions {
  url: string;
  /** The JetStream stream holding every event (`EVENTS`). */
  stream: string;
  /** Subjects are `<prefix>.<type>`; default: the stream name in lower case (`events.user.created`). */
  subjectPrefix?: string;
  /** Connection name shown by the server (the service). */
  name?: string;
  log?: EventLog;
  metrics?: EventMetrics;
  /** How long the stream keeps events (and so how late a consumer may still catch up). */
  maxAgeMs?: number;
  /** Window in which JetStream drops a second publish of the same event id. */
  duplicateWindowMs?: number;
  /** A publish not acknowledged by the server within this time fails (the rows stay in the outbox). */
  publishTimeoutMs?: number;
  /** How long `close()` lets a handler in flight finish and acknowledge. */
  drainTimeoutMs?: number;
}

/**
 * NATS JetStream adapter: one stream over `<prefix>.>`, each event on `<prefix>.<type>` with its id
 * as `Nats-Msg-Id` (a republished event is dropped inside the duplicate window), and one durable
 * pull consumer per consuming service with explicit acks.
 *
 * It never blocks a start: it connects in the background and keeps trying while NATS is down
 * (publishes fail fast meanwhile, so the relay backs off and the outbox holds the events). Once
 * connected, the client reconnects by itself and the consumers resume; the stream and consumers are
 * created again if the server came back without them.
 */
export class NatsTransport implements EventTransport {
  readonly kind = 'nats' as const;
  readonly #options: NatsTransportOptions;
  readonly #prefix: string;
  readonly #log: EventLog;
  #nc?: NatsConnection;
  #js?: JetStreamClient;
  #jsm?: JetStreamManager;
  #connected = false;
  #closed = false;
  #streamReady?: Promise<void>;
  #wakeConnectLoop?: () => void;
  readonly #connecting: Promise<void>;
  readonly #subscriptions = new Set<NatsSubscription>();
  readonly deadLetterStore: DeadLetterStore = natsDeadLetterStore(this);

  constructor(options: NatsTransportOptions) {
    this.#options = options;
    this.#prefix = options.subjectPrefix ?? options.stream.toLowerCase();
    this.#log = options.log ?? silentLog;
    this.#connecting = this.#connectLoop();
  }

  get prefix(): string {
    return this.#prefix;
  }

  get stream(): string {
    return this.#options.stream;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Resolves once connected with the stream in place (tests and tools; services never wait). */
  async ready(): Promise<void> {
    await this.#connecting;
    if (!this.#connected) throw new TransportUnavailableError('not connected to NATS');
    await this.#ensureStream();
  }

  async publish(events: readonly EventEnvelope[]): Promise<void> {
    const js = this.#js;
    if (!this.#connected || !js) throw new TransportUnavailableError('not connected to NATS');
    if (events.length === 0) return;
    try {
      await this.#ensureStream();
      const timeout = this.#options.publishTimeoutMs ?? 5000;
      // Pipelined on one connection: the server stores them in the order they were sent.
      await Promise.all(
        events.map((event) => {
          const h = headers();
          if (event.traceparent) h.set('traceparent', event.traceparent);
          return js.publish(subjectOf(this.#prefix, event.type), encodeEvent(event), {
            msgID: event.id,
            timeout,
            headers: h,
          });
        }),
      );
    } catch (error) {
      throw new TransportUnavailableError(`NATS did not store the events: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.#closed) throw new TransportUnavailableError('the NATS transport is closed');
    const subscription = new NatsSubscription(this, options, this.#options.drainTimeoutMs ?? 2000);
    this.#subscriptions.add(subscription);
    if (this.#connected) void subscription.start();
    return {
      close: async () => {
        this.#subscriptions.delete(subscription);
        await subscription.close();
      },
    };
  }

  async check(): Promise<void> {
    const nc = this.#nc;
    if (!this.#connected || !nc) throw new Error('not connected to NATS');
    await nc.rtt();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeConnectLoop?.();
    await Promise.all([...this.#subscriptions].map((subscription) => subscription.close()));
    this.#subscriptions.clear();
    await this.#connecting;
    this.#connected = false;
    await this.#nc?.close().catch(() => {});
  }

  /** For the subscriptions: the JetStream handles, once connected. */
  handles(): { js: JetStreamClient; jsm: JetStreamManager } | undefined {
    if (!this.#connected || !this.#js || !this.#jsm) return undefined;
    return { js: this.#js, jsm: this.#jsm };
  }

  get closed(): boolean {
    return this.#closed;
  }

  ensureStream(): Promise<void> {
    return this.#ensureStream();
  }

  async #connectLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closed) {
      let nc: NatsConnection | undefined;
      try {
        nc = await connect({
          servers: this.#options.url.split(','),
          name: this.#options.name,
          timeout: 2000,
          // After the first connection the client reconnects by itself, forever.
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          pingInterval: 10_000,
          maxPingOut: 2,
        });
        const jsm = await jetstreamManager(nc, { timeout: 5000 });
        if (this.#closed) {
          await nc.close();
          return;
        }
        this.#nc = nc;
        this.#jsm = jsm;
        this.#js = jetstream(nc, { timeout: this.#options.publishTimeoutMs ?? 5000 });
        this.#connected = true;
        this.#log.info({ url: redact(this.#options.url), stream: this.#options.stream }, 'connected to NATS');
        void this.#watch(nc);
        for (const subscription of this.#subscriptions) void subscription.start();
        return;
      } catch (error) {
        await nc?.close().catch(() => {});
        failures++;
        const delay = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
        const details = { err: error, url: redact(this.#options.url), retryInMs: delay };
        if (failures === 1) this.#log.warn(details, 'cannot connect to NATS; events wait in the outbox');
        else this.#log.debug(details, 'still cannot connect to NATS');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          this.#wakeConnectLoop = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.#connected = false;
        if (!this.#closed) this.#log.warn({ url: redact(this.#options.url) }, 'lost the connection to NATS');
      } else if (status.type === 'reconnect') {
        this.#connected = true;
        // The server may have come back without the stream or a consumer (no persistent storage).
        this.#streamReady = undefined;
        this.#log.info({ url: redact(this.#options.url) }, 'reconnected to NATS');
        for (const subscription of this.#subscriptions) void subscription.restoreIfMissing();
      }
    }
  }

  #ensureStream(): Promise<void> {
    this.#streamReady ??= this.#createStream().catch((error) => {
      this.#streamReady = undefined;
      throw error;
    });
    return this.#streamReady;
  }

  async #createStream(): Promise<void> {
    const jsm = this.#jsm;
    if (!jsm) throw new TransportUnavailableError('not connected to NATS');
    const name = this.#options.stream;
    try {
      await jsm.streams.info(name);
      return;
    } catch (error) {
      if (!isApiError(error, JetStreamApiCodes.StreamNotFound)) throw error;
    }
    try {
      await jsm.streams.add({
        name,
        subjects: [`${this.#prefix}.>`],
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: nanos(this.#options.maxAgeMs ?? 7 * 24 * 3_600_000),
        duplicate_window: nanos(this.#options.duplicateWindowMs ?? 120_000),
      });
      this.#log.info({ stream: name, subjects: `${this.#prefix}.>` }, 'created the event stream');
    } catch (error) {
      // Another instance created it at the same moment.
      await jsm.streams.info(name).catch(() => {
        throw error;
      });
    }
  }
}
