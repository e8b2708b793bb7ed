import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
} from '@nats-io/jetstream';
import { connect, headers, type NatsConnection, nanos } from '@nats-io/transport-node';
import { decodeEvent, type EventEnvelope, encodeEvent, PoisonEventError, subjectOf } from './envelope.ts';
import { type EventLog, silentLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';
import {
  deadLetterSubject,
  type EventTransport,
  redeliveryDelay,
  type SubscribeOptions,
  type Subscription,
  subjectFilter,
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
          servers: this.#options.url,
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

/** One durable consumer's pull loop in one process. */
class NatsSubscription {
  readonly #transport: NatsTransport;
  readonly #options: SubscribeOptions;
  readonly #types: Set<string>;
  readonly #drainTimeoutMs: number;
  readonly #log: EventLog;
  readonly #metrics?: EventMetrics;
  #messages?: ConsumerMessages;
  #starting?: Promise<void>;
  #inFlight?: Promise<void>;
  #closed = false;

  constructor(transport: NatsTransport, options: SubscribeOptions, drainTimeoutMs: number) {
    this.#transport = transport;
    this.#options = options;
    this.#types = new Set(options.types);
    this.#drainTimeoutMs = drainTimeoutMs;
    this.#log = options.log ?? silentLog;
    this.#metrics = options.metrics;
  }

  get #config(): Partial<ConsumerConfig> {
    const options = this.#options;
    return {
      durable_name: options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subjectFilter(this.#transport.prefix, options.types),
      // The handler runs at most `maxDeliver` times; one more delivery is left for the step that
      // dead-letters it, should the last attempt end without a verdict (a crash, NATS unreachable).
      max_deliver: options.maxDeliver + 1,
      ack_wait: nanos(options.ackWaitMs),
      max_ack_pending: 1000,
    };
  }

  /** Creates (or updates) the durable consumer and starts pulling; retried until it works. */
  start(): Promise<void> {
    this.#starting ??= this.#startLoop().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #startLoop(): Promise<void> {
    let failures = 0;
    while (!this.#closed && !this.#messages) {
      const handles = this.#transport.handles();
      if (!handles) return; // not connected: the transport starts us again once it is
      try {
        await this.#ensureConsumer(handles.jsm);
        const consumer = await handles.js.consumers.get(this.#transport.stream, this.#options.durable);
        const messages = await consumer.consume({ max_messages: 32 });
        if (this.#closed) {
          await messages.close();
          return;
        }
        this.#messages = messages;
        void this.#watch(messages);
        void this.#pull(messages);
        this.#log.info(
          { consumer: this.#options.durable, stream: this.#transport.stream },
          'consuming events',
        );
      } catch (error) {
        failures++;
        this.#log.warn(
          { err: error, consumer: this.#options.durable },
          'cannot start the event consumer; retrying',
        );
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** failures)));
      }
    }
  }

  async #ensureConsumer(jsm: JetStreamManager): Promise<void> {
    await this.#transport.ensureStream();
    const stream = this.#transport.stream;
    try {
      await jsm.consumers.add(stream, this.#config);
    } catch (error) {
      // It exists with another configuration (attempts or timings changed): bring it in line.
      if (!(error instanceof JetStreamApiError)) throw error;
      const { durable_name: _name, deliver_policy: _policy, ack_policy: _ack, ...changes } = this.#config;
      await jsm.consumers.update(stream, this.#options.durable, changes);
    }
  }

  /** After a reconnect: recreate the consumer if the server lost it. */
  async restoreIfMissing(): Promise<void> {
    const handles = this.#transport.handles();
    if (!handles || this.#closed) return;
    try {
      await handles.jsm.consumers.info(this.#transport.stream, this.#options.durable);
    } catch (error) {
      if (
        isApiError(error, JetStreamApiCodes.ConsumerNotFound) ||
        isApiError(error, JetStreamApiCodes.StreamNotFound)
      ) {
        this.#log.warn({ consumer: this.#options.durable }, 'the event consumer was lost; creating it again');
        await this.#restart();
      }
    }
  }

  async #restart(): Promise<void> {
    const messages = this.#messages;
    this.#messages = undefined;
    await messages?.close().catch(() => {});
    await this.start();
  }

  async #watch(messages: ConsumerMessages): Promise<void> {
    for await (const status of messages.status()) {
      if (status.type === 'consumer_not_found' || status.type === 'consumer_deleted') {
        if (this.#messages === messages && !this.#closed) {
          this.#log.warn(
            { consumer: this.#options.durable, status: status.type },
            'recreating the event consumer',
          );
          await this.#restart();
        }
        return;
      }
    }
  }

  async #pull(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of messages) {
        if (this.#closed) break;
        this.#inFlight = this.#handle(msg);
        await this.#inFlight;
        this.#inFlight = undefined;
      }
    } catch (error) {
      if (!this.#closed)
        this.#log.warn({ err: error, consumer: this.#options.durable }, 'event consumer stopped');
    }
    if (this.#messages === messages && !this.#closed) {
      this.#messages = undefined;
      setTimeout(() => void this.start(), 1000).unref();
    }
  }

  async #handle(msg: JsMsg): Promise<void> {
    const options = this.#options;
    const prefix = this.#transport.prefix;
    if (msg.subject.startsWith(`${prefix}.dead.`)) return msg.ack();
    const attempt = msg.info.deliveryCount;
    let event: EventEnvelope;
    try {
      event = decodeEvent(msg.data);
    } catch (error) {
      const poison = error instanceof PoisonEventError ? error : new PoisonEventError(messageOf(error));
      return this.#deadLetter(msg, undefined, attempt, poison);
    }
    if (!this.#types.has(event.type)) return msg.ack();
    const labels = { consumer: options.durable, type: event.type };
    if (attempt > 1) this.#metrics?.redeliveries.inc(labels);
    if (attempt > options.maxDeliver) {
      return this.#deadLetter(msg, event, attempt - 1, new Error('no attempt completed'));
    }
    try {
      // A handler that hangs must not stall the consumer: past ack_wait the server redelivers
      // anyway, so the attempt counts as failed (it may still commit; the inbox absorbs that).
      await withDeadline(options.ackWaitMs, options.handle(event, { attempt }));
    } catch (error) {
      this.#metrics?.handlerFailures.inc(labels);
      if (error instanceof PoisonEventError || attempt >= options.maxDeliver) {
        return this.#deadLetter(msg, event, attempt, error);
      }
      const delay = redeliveryDelay(attempt, options);
      this.#log.warn(
        {
          err: error,
          consumer: options.durable,
          eventId: event.id,
          type: event.type,
          attempt,
          retryInMs: delay,
        },
        'event handler failed; will redeliver',
      );
      msg.nak(delay);
      return;
    }
    // Acknowledged only now, after the handler's transaction committed. A lost ack means one more
    // delivery, which the inbox turns into a no-op.
    try {
      await msg.ackAck({ timeout: 5000 });
    } catch (error) {
      this.#log.debug({ err: error, eventId: event.id }, 'ack not confirmed; a redelivery will be absorbed');
    }
  }

  async #deadLetter(
    msg: JsMsg,
    event: EventEnvelope | undefined,
    attempts: number,
    error: unknown,
  ): Promise<void> {
    const options = this.#options;
    const handles = this.#transport.handles();
    const type = event?.type ?? 'unreadable';
    const subject = deadLetterSubject(this.#transport.prefix, options.durable, type);
    try {
      if (!handles) throw new TransportUnavailableError('not connected to NATS');
      const h = headers();
      h.set('Armature-Original-Subject', msg.subject);
      h.set('Armature-Consumer', options.durable);
      h.set('Armature-Attempts', String(attempts));
      h.set(
        'Armature-Error',
        messageOf(error)
          .slice(0, 500)
          .replace(/[\r\n]+/g, ' '),
      );
      await handles.js.publish(subject, msg.data, {
        headers: h,
        msgID: `${event?.id ?? `seq-${msg.info.streamSequence}`}.dead.${options.durable}`,
      });
    } catch (publishError) {
      // Keep the event: its next delivery (one is reserved, see `max_deliver`) dead-letters it again.
      this.#log.warn(
        { err: publishError, consumer: options.durable },
        'could not dead-letter an event; will retry',
      );
      msg.nak(redeliveryDelay(attempts, options));
      return;
    }
    msg.term(`dead-lettered after ${attempts} attempts`);
    this.#metrics?.deadLetters.inc({ consumer: options.durable, type });
    this.#log.error(
      {
        err: error,
        consumer: options.durable,
        eventId: event?.id,
        type,
        attempts,
        deadLetterSubject: subject,
      },
      'event sent to the dead letters',
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const messages = this.#messages;
    this.#messages = undefined;
    // Let a handler in flight finish and acknowledge, within a bound (a redelivery is harmless).
    // Closing the pull waits for the loop, which waits for that handler: bounded the same way.
    if (this.#inFlight)
      await within(
        this.#drainTimeoutMs,
        this.#inFlight.catch(() => {}),
      );
    if (messages)
      await within(
        this.#drainTimeoutMs,
        messages.close().catch(() => {}),
      );
  }
}

async function withDeadline<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      work,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not acknowledged within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function within(ms: number, work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work,
    new Promise((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A URL for the logs: credentials removed. */
function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}
