import type { Registry } from 'prom-client';
import type { App } from '../server.ts';
import type { EventsConfig } from './config.ts';
import { type ConsumerDefinition, inboxHandler, startConsumer } from './consumer.ts';
import { DeadLetterAdmin } from './dead-letter-admin.ts';
import { sharedInProcessBus } from './in-process-bus.ts';
import type { EventLog } from './log.ts';
import { EventMetrics } from './metrics.ts';
import type { WithEvents } from './outbox.ts';
import { OutboxRelay } from './relay.ts';
import { type WorkContext, withWorkContext, workContext } from './trace-context.ts';
import type { EventTransport, Subscription } from './transport.ts';

export type ConsumerSpec<DB> = Omit<
  ConsumerDefinition<DB>,
  'db' | 'log' | 'metrics' | 'maxDeliver' | 'backoffMs' | 'ackWaitMs'
>;

export interface EventsOptions<DB> {
  service: string;
  database: { db: WithEvents<DB>; kind: 'pglite' | 'postgres' };
  config: EventsConfig;
  /** Where the counters go (default: the server's `metrics` registry, else a new one). */
  registry?: Registry;
  /** Durable consumers of this service (their name is usually the service's). */
  consumers?: ConsumerSpec<DB>[];
}

export interface Events {
  transport: EventTransport;
  relay: OutboxRelay;
  metrics: EventMetrics;
  /** The dead letters of this service's consumers: list, replay, discard. */
  deadLetters: DeadLetterAdmin;
  /** Publish now what was just committed to the outbox (outside a request, e.g. a start-up task). */
  wake(): void;
}

/**
 * Wires a service's events into its server: the transport (NATS JetStream when `NATS_URL` is set,
 * else the in-process bus shared by the services of this process), the outbox relay, the durable
 * consumers, a non-critical `bus` health check (while the transport is down the outbox keeps the
 * events and the service keeps serving), and shutdown. The relay is woken after every write request
 * has been answered (its transaction has committed by then) and after each consumed event, so
 * events go out at once without polling the database hot.
 */
export async function startEvents<DB>(app: App, options: EventsOptions<DB>): Promise<Events> {
  const { config, service } = options;
  const log: EventLog = app.log.child({ component: 'events' });
  // The server's own registry when it has one (`/metrics`), so the event figures are served with it.
  const serverRegistry = app.hasDecorator('metrics')
    ? (app as unknown as { metrics: Registry }).metrics
    : undefined;
  const metrics = new EventMetrics({ registry: options.registry ?? serverRegistry });
  const retentionMs = config.retentionHours * 3_600_000;
  // The NATS client is loaded only when NATS is configured (never in the embedded mode).
  const transport: EventTransport = config.natsUrl
    ? new (await import('./nats-transport.ts')).NatsTransport({
        url: config.natsUrl,
        stream: config.stream,
        name: service,
        log,
        metrics,
        maxAgeMs: retentionMs,
      })
    : sharedInProcessBus(config.stream, { log, metrics });
  const relay = new OutboxRelay({
    db: options.database.db,
    kind: options.database.kind,
    transport,
    log,
    metrics,
    batchSize: config.outboxBatchSize,
    pollIntervalMs: config.outboxPollIntervalMs,
    retentionMs,
    inboxRetentionMs: 2 * retentionMs,
  });

  const subscriptions: Subscription[] = [];
  const replayable: { name: string; handle: ReturnType<typeof inboxHandler> }[] = [];
  for (const consumer of options.consumers ?? []) {
    const afterCommit = consumer.afterCommit;
    const definition: ConsumerDefinition<DB> = {
      ...consumer,
      db: options.database.db,
      log,
      metrics,
      tracing: app.tracing,
      maxDeliver: config.maxDeliver,
      backoffMs: config.retryBackoffMs,
      ackWaitMs: config.ackWaitMs,
      // A handler may have written events of its own (e.g. orders cancelled): send them now.
      afterCommit: async (event, outcome, effects) => {
        if (effects.eventsWritten) relay.wake();
        await afterCommit?.(event, outcome, effects);
      },
    };
    subscriptions.push(await startConsumer(transport, definition));
    replayable.push({ name: consumer.name, handle: inboxHandler(definition) });
  }
  const deadLetters = new DeadLetterAdmin({ store: transport.deadLetterStore, consumers: replayable, log });

  app.health.add('bus', () => transport.check(), { critical: false });
  // Events written while handling a request carry its trace context (the gateway always sends one).
  const requestWork = new WeakMap<object, WorkContext>();
  app.addHook('onRequest', (request, _reply, done) => {
    const work = workContext(request.headers.traceparent as string);
    requestWork.set(request, work);
    withWorkContext(work, done);
  });
  // A request that wrote events has committed them by now: send them. One that wrote none (a cart
  // change, say) leaves the relay alone rather than have it read an empty outbox.
  app.addHook('onResponse', async (request) => {
    if (requestWork.get(request)?.eventsWritten !== false) relay.wake();
  });
  // onClose hooks run in reverse order of registration: this runs before the database closes.
  app.addHook('onClose', async () => {
    await Promise.all(subscriptions.map((subscription) => subscription.close()));
    await relay.stop();
    await transport.close();
  });
  relay.start();
  log.info({ transport: transport.kind, stream: config.stream }, 'events ready');
  return { transport, relay, metrics, deadLetters, wake: () => relay.wake() };
}
