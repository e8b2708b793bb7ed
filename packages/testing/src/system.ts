import { randomUUID } from 'node:crypto';
import { type EmbeddedSystem, startEmbedded } from '@armature/cli/embedded';
import { type ArmatureClient, createClient } from '@armature/client';
import { envPrefix, serviceNames } from '@armature/contracts/services';
import { deleteStream } from '@armature/platform/events/test-support';
import { contractFetch } from './contract.ts';
import { freshStore, natsUrl, postgresAdminUrl, redisUrl } from './databases.ts';

export interface TestSystem extends EmbeddedSystem {
  /** The gateway's base URL: the only address a client uses. */
  url: string;
  /** `fetch` against the gateway (paths like `/v1/users`) that fails on any answer breaking the contract. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** The typed client, as a user's code would call the API, with every answer checked against the contract. */
  client(token?: string | (() => string | undefined)): ArmatureClient;
  /** A JSON request to the gateway, contract-checked like `fetch`: its status and parsed body. */
  call(method: string, path: string, options?: { token?: string; body?: unknown }): Promise<Reply>;
}

export interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are read field by field
  body: any;
}

/**
 * The whole system, started the way `npm start` starts it, on free ports with fresh databases.
 * In CI's scale-out pass (`TEST_POSTGRES_URL`, `TEST_REDIS_URL`, `TEST_NATS_URL`) it runs on the
 * real PostgreSQL, Redis and NATS instead of the embedded adapters.
 */
export async function startSystem(env: Record<string, string> = {}): Promise<TestSystem> {
  // One database per service of the catalog in the scale-out pass, as scaled out; embedded, one
  // data folder holds every service's PGlite.
  const stores = await Promise.all(
    (postgresAdminUrl ? serviceNames : serviceNames.slice(0, 1)).map((service) => freshStore(service)),
  );
  const databaseUrls = Object.fromEntries(
    serviceNames.flatMap((service, index) => {
      const url = stores[index]?.url;
      return url ? [[`${envPrefix(service)}_DATABASE_URL`, url]] : [];
    }),
  );
  const stream = `EVENTS_TEST_${randomUUID().replaceAll('-', '').slice(0, 12).toUpperCase()}`;
  const eventsNatsUrl = env.NATS_URL ?? natsUrl;
  const system = await startEmbedded({
    ...process.env,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: stores[0]!.dataDir,
    ...databaseUrls,
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...(natsUrl ? { NATS_URL: natsUrl } : {}),
    // Suites share one client address and, in scale-out runs, one Redis: give each system its own
    // rate-limit budget, large enough that only suites about rate limits (passing their own) meet it.
    RATE_LIMIT_KEY_PREFIX: `armature:test:${randomUUID()}:`,
    RATE_LIMIT_MAX_REQUESTS: '100000',
    LOGIN_RATE_LIMIT_MAX_REQUESTS: '100000',
    // Each system its own event stream (in-process: its own bus), so that suites running side by
    // side on one NATS never consume each other's events; the stream goes with the system.
    EVENTS_STREAM: stream,
    ...env,
  });
  const checked = contractFetch();
  const fetchGateway = (path: string, init?: RequestInit) => checked(`${system.gateway.url}${path}`, init);
  return {
    ...system,
    url: system.gateway.url,
    fetch: fetchGateway,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = {};
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetchGateway(path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      const text = await response.text();
      return { status: response.status, body: text ? JSON.parse(text) : undefined };
    },
    client: (token) => createClient(system.gateway.url, { token, fetch: (request) => checked(request) }),
    async close() {
      await system.close();
      await Promise.all(stores.map((store) => store.drop()));
      if (eventsNatsUrl) await deleteStream(eventsNatsUrl, env.EVENTS_STREAM ?? stream);
    },
  };
}
