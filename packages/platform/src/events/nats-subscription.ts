import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers, nanos } from '@nats-io/transport-node';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { decodeEvent, type EventEnvelope, PoisonEventError } from './envelope.ts';
import { type EventLog, silentLog } from './log.ts';
import type { EventMetrics } from './metrics.ts';
import { isApiError, messageOf, withDeadline, within } from './nats-helpers.ts';
import type { NatsTransport } from './nats-transport.ts';
import {
  deadLetterSubject,
  redeliveryDelay,
  type SubscribeOptions,
  subjectFilter,
  TransportUnavailableError,
} from './transport.ts';

/** One durable consumer's pull loop in one process. */
export class NatsSubscription {
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
      // One that fails because this service's database cannot be reached is tried again in place,
      // for as long as the outage lasts: the event is not at fault, and a delivery spent on each try
      // would send it to the dead letters after a few seconds of outage.
      for (let retry = 1; ; retry++) {
        try {
          await withDeadline(options.ackWaitMs, options.handle(event, { attempt }));
          break;
        } catch (error) {
          if (!isDatabaseUnavailable(error) || this.#closed) throw error;
          if (retry === 1) {
            this.#log.warn(
              { err: error, consumer: options.durable, eventId: event.id, type: event.type },
              'event handler cannot reach its database; retrying until it is back',
            );
          }
          msg.working();
          await new Promise((resolve) =>
            setTimeout(resolve, Math.min(redeliveryDelay(retry, options), options.ackWaitMs / 3)),
          );
          msg.working();
        }
      }
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
