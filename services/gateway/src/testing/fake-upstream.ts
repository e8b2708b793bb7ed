import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { JWK } from 'jose';

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface FakeUpstreamOptions {
  /** Reported in every answer (`x-instance` header and body), so tests see who served. */
  name?: string;
  /** Keys served at `/.well-known/jwks.json`. */
  keys?: JWK[];
  /** Requests whose path starts with this never get an answer. */
  hangPrefix?: string;
  /** Requests whose path starts with this have their connection cut, as by a crash mid-request. */
  resetPrefix?: string;
  port?: number;
}

export interface FakeUpstream {
  url: string;
  port: number;
  /** Every request received, health probes and JWKS fetches excluded. */
  received: ReceivedRequest[];
  jwksFetches: number;
  ready: boolean;
  keys: JWK[];
  /** Its Fastify instance (a gateway in this process may reach it without its port). */
  app: FastifyInstance;
  /** TCP connections accepted on its port so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A stand-in for a service behind the gateway: echoes what it received (method, path and query,
 * headers, body) as JSON, answers `/health/ready`, serves a JWKS, and can hang or talk garbage.
 */
export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const name = options.name ?? 'upstream';
  const app = Fastify({ logger: false, forceCloseConnections: true });
  const state: FakeUpstream = {
    url: '',
    port: 0,
    received: [],
    jwksFetches: 0,
    ready: true,
    keys: options.keys ?? [],
    app,
    connections: 0,
    close: async () => {
      await app.close();
    },
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  app.get('/health/ready', async (_request, reply) =>
    state.ready ? { status: 'up' } : reply.code(503).send({ status: 'down' }),
  );
  app.get('/.well-known/jwks.json', async () => {
    state.jwksFetches += 1;
    return { keys: state.keys };
  });
  app.all('/*', (request, reply) => {
    const entry = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: typeof request.body === 'string' ? request.body : '',
    };
    state.received.push(entry);
    if (options.hangPrefix && request.url.startsWith(options.hangPrefix)) return; // never answers
    if (options.resetPrefix && request.url.startsWith(options.resetPrefix)) {
      request.raw.socket.destroy();
      return;
    }
    if (request.url.includes('/garbage')) {
      reply.hijack();
      request.raw.socket.end('this is not HTTP at all\r\n\r\n');
      return;
    }
    const status = /[?&]status=(\d{3})/.exec(request.url);
    if (status) {
      return reply
        .code(Number(status[1]))
        .header('x-instance', name)
        .send({ instance: name, status: Number(status[1]) });
    }
    return reply
      .header('x-instance', name)
      .header('set-cookie', ['a=1', 'b=2'])
      .send({ instance: name, ...entry });
  });
  app.server.on('connection', () => {
    state.connections += 1;
  });
  await app.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  state.port = (app.server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}
