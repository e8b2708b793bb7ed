import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { errors } from 'undici';
import type { UpstreamRequest, UpstreamResponse, UpstreamTransport } from './transports.ts';

/** The Fastify instance of a service running in this process, or undefined while it is stopped. */
export type LocalApp = () => FastifyInstance | undefined;

/**
 * In process: the request is handed to the service's Fastify instance running in this process
 * (its `routing`, the handler its HTTP server calls), with no socket and no HTTP written or parsed:
 * the service runs its routing, hooks, validation and error handling exactly as for a request off
 * its port. What the socket would have said is said here: a stopped service refuses the call
 * (ECONNREFUSED: never sent, retried, 503), an answer later than the timeout is a headers timeout
 * (504), a response destroyed before it ended is a reset (502), and the caller appears as loopback.
 */
export class InProcessTransport implements UpstreamTransport {
  readonly #app: LocalApp;
  readonly #host: string;
  readonly #timeoutMs: number;

  constructor(url: string, app: LocalApp, options: { timeoutMs: number }) {
    this.#app = app;
    this.#host = new URL(url).host;
    this.#timeoutMs = options.timeoutMs;
  }

  send(request: UpstreamRequest): Promise<UpstreamResponse> {
    const app = this.#app();
    if (!app) return Promise.reject(refused());
    const timeoutMs = request.timeoutMs ?? this.#timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new errors.HeadersTimeoutError()), timeoutMs);
      // What undici sends: `Host` (the instance's address) and the body's length.
      const headers: Record<string, string | string[]> = { ...request.headers, host: this.#host };
      if (request.body) headers['content-length'] = String(request.body.length);
      const req = new LocalRequest(request.method, request.path, headers, request.body);
      const res = new LocalResponse(request.method === 'HEAD', (error, response) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve(response!);
      });
      try {
        app.routing(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      } catch (error) {
        clearTimeout(timer);
        reject(error);
      }
    });
  }

  async close(): Promise<void> {}
}

function refused(): Error {
  return Object.assign(new Error('the service is not running in this process'), { code: 'ECONNREFUSED' });
}

/** The loopback peer the service sees, as it would over its port. */
const loopbackSocket = Object.freeze({
  remoteAddress: '127.0.0.1',
  remoteFamily: 'IPv4',
  localAddress: '127.0.0.1',
  encrypted: false,
  on() {},
  once() {},
  removeListener() {},
  destroy() {},
  setTimeout() {},
});

/**
 * The request as the service's HTTP server would hand it over (`IncomingMessage`'s fields that
 * Fastify and the kit read), its body a readable stream of the bytes given. Hand-written because the
 * general tool for this, `inject` (light-my-request), builds a full `ServerResponse` per call and
 * renders its headers as HTTP text: a quarter of the process's CPU under load, the very cost this
 * path exists to avoid.
 */
class LocalRequest extends Readable {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[]>;
  readonly rawHeaders: string[] = [];
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  readonly socket = loopbackSocket;
  readonly complete = true;
  aborted = false;

  constructor(method: string, url: string, headers: Record<string, string | string[]>, body: Buffer | null) {
    super();
    this.method = method;
    this.url = url;
    this.headers = headers;
    if (body && body.length > 0) this.push(body);
    this.push(null);
  }

  override _read(): void {}
}

type Done = (error: Error | undefined, response?: UpstreamResponse) => void;

/**
 * The response as `ServerResponse` offers it to Fastify (status, headers, `writeHead`, `write`,
 * `end`, `finish`/`close` events, `destroy`), collecting the body instead of writing to a socket. Like
 * Node's, it drops the body of a HEAD, 204 or 304 answer.
 */
class LocalResponse extends Writable {
  statusCode = 200;
  statusMessage = '';
  headersSent = false;
  readonly #headers: Record<string, string | string[] | undefined> = {};
  readonly #chunks: Buffer[] = [];
  readonly #head: boolean;
  #done: Done | undefined;

  constructor(head: boolean, done: Done) {
    super();
    this.#head = head;
    this.#done = done;
    this.once('finish', () => {
      const status = this.statusCode;
      const chunks = this.#chunks;
      const bodyless = this.#head || status === 204 || status === 304;
      this.#settle(undefined, {
        status,
        headers: this.#headers,
        body:
          bodyless || chunks.length === 0 ? empty : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
      });
    });
  }

  #settle(error: Error | undefined, response?: UpstreamResponse): void {
    const done = this.#done;
    this.#done = undefined;
    done?.(error, response);
  }

  setHeader(name: string, value: string | number | readonly string[]): this {
    this.#headers[name.toLowerCase()] =
      typeof value === 'number' ? String(value) : (value as string | string[]);
    return this;
  }

  getHeader(name: string): string | string[] | undefined {
    return this.#headers[name.toLowerCase()];
  }

  getHeaders(): Record<string, string | string[] | undefined> {
    return { ...this.#headers };
  }

  hasHeader(name: string): boolean {
    return this.#headers[name.toLowerCase()] !== undefined;
  }

  removeHeader(name: string): void {
    delete this.#headers[name.toLowerCase()];
  }

  writeHead(status: number, ...rest: unknown[]): this {
    if (this.headersSent)
      throw Object.assign(new Error('headers already sent'), { code: 'ERR_HTTP_HEADERS_SENT' });
    this.statusCode = status;
    const headers = rest.find((argument) => typeof argument === 'object' && argument !== null) as
      | Record<string, string | number | string[] | undefined>
      | undefined;
    if (headers)
      for (const name in headers) {
        const value = headers[name];
        if (value !== undefined) this.setHeader(name, value);
      }
    this.headersSent = true;
    return this;
  }

  writeEarlyHints(): void {}

  addTrailers(): void {}

  flushHeaders(): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.#chunks.push(chunk);
    callback();
  }

  override _final(callback: () => void): void {
    if (!this.headersSent) this.writeHead(this.statusCode);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // Destroyed before it ended: over a socket, the connection would have been cut mid-answer.
    if (this.#done)
      this.#settle(
        Object.assign(new Error('the service dropped the response', { cause: error ?? undefined }), {
          code: 'ECONNRESET',
        }),
      );
    callback(null);
  }
}

const empty = Buffer.alloc(0);
