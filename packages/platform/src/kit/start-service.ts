import { type DomainEvent, eventsOperations } from '@armature/contracts';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { type AuthOptions, registerAuth } from '../auth/plugin.ts';
import { createTokenVerifier, type TokenVerifier } from '../auth/verifier.ts';
import type { Cache } from '../cache/cache.ts';
import { createCache } from '../cache/create.ts';
import { attachCache } from '../cache/http.ts';
import { type Database, openDatabase } from '../db/database.ts';
import { registerPoolMetrics } from '../db/metrics.ts';
import { openReads, type Reads } from '../db/read-replica.ts';
import { listEvents } from '../events/event-log.ts';
import { type ConsumerSpec, type Events, startEvents } from '../events/runtime.ts';
import { CursorCodec } from '../http/cursor.ts';
import { parseJsonBody } from '../http/json-body.ts';
import { registerOperation } from '../http/operation.ts';
import { purgeIdempotencyKeys } from '../idempotency/store.ts';
import { type App, createServer } from '../server.ts';
import { listen, type StartedService } from '../service.ts';
import { registerSpanRoute } from '../spans/route.ts';
import type { ServiceConfig } from './config.ts';
import { registerDeadLetterRoutes } from './dead-letter-routes.ts';

/** What the kit hands a service's own code: its server, database, cache, cursors and settings. */
export interface ServiceKit<DB, Config extends ServiceConfig = ServiceConfig> {
  name: string;
  app: App;
  database: Database<DB>;
  db: Kysely<DB>;
  /**
   * Where read-only queries run: the read replica (`<SERVICE>_READ_DATABASE_URL`) when there is one
   * and the caller has not written lately, else the primary. Writes use `db`.
   */
  reads: Reads<DB>;
  cache: Cache;
  /** Signs and reads list cursors (`CURSOR_SECRET`). */
  cursors: CursorCodec;
  config: Config;
  log: FastifyBaseLogger;
}

/** A periodic deletion of rows past their keeping time (sessions, tokens…), given that time. */
export type Housekeeping<DB> = (db: Kysely<DB>, keepSeconds: number) => Promise<unknown>;

/**
 * One service, declared: what it owns and what it adds to the kit. Everything else (server, database
 * and migrations, cache, auth, `/events`, idempotency-key purge, outbox relay, consumers, health,
 * metrics, shutdown) is the same in every service and done by `startService`.
 */
export interface ServiceDefinition<DB, Config extends ServiceConfig, Context> {
  /** The service's name in the contract's catalog (`orders`); its data folder and metrics carry it. */
  name: string;
  /** Its versioned SQL files, applied at start and by `armature migrate`. */
  migrationsFolder: string;
  /** PATCH bodies may be JSON Merge Patches (RFC 7396) as well as plain JSON. */
  mergePatch?: boolean;
  /** Builds the service's own collaborators once the database and cache are up. */
  context?: (kit: ServiceKit<DB, Config>) => Context | Promise<Context>;
  /**
   * How a caller's token is checked; by default, signatures against the users service's JWKS
   * (`USERS_SERVICE_URLS`) and no further check.
   */
  auth?: (kit: ServiceKit<DB, Config>, context: Context) => AuthOptions | Partial<AuthOptions>;
  /** Registers the service's routes (with `registerOperation`). */
  routes: (kit: ServiceKit<DB, Config>, context: Context) => void | Promise<void>;
  /** Durable consumers of other services' events. */
  consumers?: (kit: ServiceKit<DB, Config>, context: Context) => ConsumerSpec<DB>[];
  /** Hourly deletions of expired rows, besides idempotency keys (which the kit purges itself). */
  housekeeping?: Housekeeping<DB>[];
  /** Last step before listening, once events run (start-up tasks that publish, say). */
  ready?: (kit: ServiceKit<DB, Config>, context: Context, events: Events) => void | Promise<void>;
}

export interface StartOptions {
  /** Verifies access tokens instead of the default (tests). */
  verifier?: TokenVerifier;
}

export interface RunningService<DB, Config extends ServiceConfig, Context> extends StartedService {
  kit: ServiceKit<DB, Config>;
  context: Context;
  database: Database<DB>;
  events: Events;
}

const HOUSEKEEPING_MS = 60 * 60 * 1000;
/** Expired rows that housekeeping deletes are kept this long first (a late retry still finds them). */
const KEEP_SECONDS = 86_400;

/** Declares a service; `startService(definition, config)` runs it. */
export function defineService<DB, Config extends ServiceConfig, Context = undefined>(
  definition: ServiceDefinition<DB, Config, Context>,
): ServiceDefinition<DB, Config, Context> {
  return definition;
}

/**
 * Builds and starts a service: its server, its database (migrated), its cache, token checks on
 * every route but the public ones, its routes, `GET /events` from its outbox, hourly housekeeping,
 * the outbox relay and its consumers, a health check per dependency, metrics, and a graceful close
 * that stops in reverse order. A failure part-way closes what was opened.
 */
export async function startService<DB, Config extends ServiceConfig, Context>(
  definition: ServiceDefinition<DB, Config, Context>,
  config: Config,
  options: StartOptions = {},
): Promise<RunningService<DB, Config, Context>> {
  const { name } = definition;
  const app = createServer({ service: name, logLevel: config.logLevel, bodyLimit: config.bodyLimit });
  // Bodies are JSON only: a text/plain body gets 415, not a validation error.
  app.removeContentTypeParser('text/plain');
  if (definition.mergePatch)
    app.addContentTypeParser('application/merge-patch+json', { parseAs: 'buffer' }, parseJsonBody);
  try {
    const database = await openDatabase<DB>({
      service: name,
      url: config.databaseUrl,
      dataDir: config.dataDir,
      migrationsFolder: definition.migrationsFolder,
      poolSize: config.databasePoolSize,
      onPoolError: (error) => app.log.warn({ err: error }, 'database connection lost'),
    });
    app.health.add('database', database.ping);
    registerPoolMetrics(app.metrics, database);
    app.addHook('onClose', () => database.close());
    const cache = createCache(config.cache, { name, log: app.log });
    attachCache(app, cache);
    await cache.connect();
    const reads = await openReads<DB>({
      service: name,
      primary: database,
      settings: config.readReplica,
      log: app.log,
      registry: app.metrics,
      // With Redis, a caller's write is known to every instance the gateway may send the next read to.
      shared: cache.kind === 'redis' ? cache : undefined,
    });
    if (reads.hasReplica) {
      // A replica down is a degraded service, not an unhealthy one: its reads run on the primary.
      app.health.add('database-replica', () => reads.ping(), { critical: false });
      app.addHook('onClose', () => reads.close());
      rememberWriters(app, reads);
    } else if (config.readReplica.url) {
      app.log.info('read replica ignored: the database is embedded');
    }

    const kit: ServiceKit<DB, Config> = {
      name,
      app,
      database,
      db: database.db,
      reads,
      cache,
      cursors: new CursorCodec(config.cursorSecret),
      config,
      log: app.log,
    };
    const context = (await definition.context?.(kit)) as Context;
    const auth = definition.auth?.(kit, context) ?? {};
    registerAuth(app, {
      ...auth,
      verifier:
        options.verifier ??
        auth.verifier ??
        createTokenVerifier({
          // Every users instance, so that one down does not stop this service verifying tokens.
          jwks: (config.serviceUrls.users ?? []).map((url) => `${url}/.well-known/jwks.json`),
          issuer: config.jwtIssuer,
          audience: config.jwtAudience,
        }),
    });
    await definition.routes(kit, context);
    registerOperation(app, eventsOperations.listEvents, (request) =>
      listEvents<DomainEvent>(database.db, request.query, kit.cursors),
    );

    const chores: Housekeeping<DB>[] = [
      (db) => purgeIdempotencyKeys(db, config.idempotencyKeyTtlSeconds),
      ...(definition.housekeeping ?? []),
    ];
    const sweep = setInterval(() => {
      Promise.all(chores.map((chore) => chore(database.db, KEEP_SECONDS))).catch((error) =>
        app.log.warn({ err: error }, 'housekeeping failed'),
      );
    }, HOUSEKEEPING_MS);
    sweep.unref();
    app.addHook('onClose', async () => clearInterval(sweep));

    // After the database's close hook: onClose hooks run in reverse, so events stop before it closes.
    const events = await startEvents(app, {
      service: name,
      database,
      config: config.events,
      consumers: definition.consumers?.(kit, context),
    });
    registerDeadLetterRoutes(app, { service: name, deadLetters: events.deadLetters, cursors: kit.cursors });
    registerSpanRoute(app);
    await definition.ready?.(kit, context, events);
    const started = await listen(app, { host: config.host, port: config.port });
    return { ...started, kit, context, database, events };
  } catch (error) {
    await app.close();
    throw error;
  }
}

/**
 * Read-your-own-writes: a write the service accepted (a POST, PUT, PATCH or DELETE answered below
 * 400) by a signed-in caller keeps that caller's reads on the primary for `READ_YOUR_WRITES_SECONDS`,
 * on every instance when the cache is shared (Redis). Marked before the answer is sent, so the
 * caller's next request cannot overtake it.
 */
function rememberWriters(app: App, reads: Pick<Reads<unknown>, 'wrote'>): void {
  app.addHook('onSend', async (request, reply, payload) => {
    const { method } = request;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS') return payload;
    const caller = request.principal?.userId;
    if (caller !== undefined && reply.statusCode < 400) await reads.wrote(caller);
    return payload;
  });
}

/**
 * What a service package exports as `service` for the launchers (`npm start`, `start:cluster`,
 * `armature migrate`): its name, how it reads its configuration, how it starts, where its migrations are.
 */
export interface ServiceModule<Config extends ServiceConfig = ServiceConfig> {
  name: string;
  readConfig(env?: Record<string, string | undefined>): Config;
  start(config: Config): Promise<StartedService>;
  migrationsFolder: string;
  /** Its entry point, run as its own process when scaled out. */
  main: string;
  /**
   * A process it needs beside it when scaled out, unless `urlVariable` is set (the payments
   * service's provider simulator): `start:cluster` runs one and gives its URL to every instance.
   */
  sidecar?: {
    name: string;
    main: string;
    urlVariable: string;
    env(options: { port: number; gatewayUrl: string }): Record<string, string>;
  };
}
