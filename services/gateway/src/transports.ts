import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable, Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type Dispatcher, errors, Pool } from 'undici';
import { errorCode } from './upstream-errors.ts';

/** One request to an upstream instance: path and query, the headers the gateway chose, the body bytes. */
export interface UpstreamRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer | null;
  /** Longest wait for the answer, instead of the instance's own timeout (health probes). */
  timeoutMs?: number;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * How the gateway reaches one instance. Failures are errors carrying the codes of
 * `upstream-errors.ts` (connection refused, timeout, unusable answer), whichever the transport, so
 * that retries, circuit breakers and the 502/503/504 envelopes are the same over both.
 */
export interface UpstreamTransport {
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

export interface HttpTransportOptions {
  connections: number;
  connectTimeoutMs: number;
  timeoutMs: number;
}

/**
 * Over HTTP: a keep-alive connection pool to the instance's URL. Bodies of this API are small JSON
 * documents; holding each answer whole lets a broken or truncated one become a clean 502 instead of
 * a half-sent response, and avoids a stream per request.
 */
export class HttpTransport implements UpstreamTransport {
  readonly #pool: Pool;

  constructor(url: string, options: HttpTransportOptions) {
    this.#pool = new Pool(url, {
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
  }

  send(request: UpstreamRequest): Promise<UpstreamResponse> {
    const options: Dispatcher.DispatchOptions = {
      method: request.method as Dispatcher.HttpMethod,
      path: request.path,
      headers: request.headers,
      body: request.body,
      ...(request.timeoutMs === undefined
        ? {}
        : { headersTimeout: request.timeoutMs, bodyTimeout: request.timeoutMs }),
    };
    return new Promise((resolve, reject) => {
      let status = 0;
      let headers: UpstreamResponse['headers'] = {};
      const chunks: Buffer[] = [];
      this.#pool.dispatch(options, {
        onRequestStart() {},
        onResponseStart(_controller, statusCode, responseHeaders) {
          status = statusCode;
          headers = responseHeaders;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          resolve({ status, headers, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) });
        },
        onResponseError(_controller, error) {
          // A 304 may state the length the full answer would have had (RFC 9110 §8.6) and has no
          // body; undici counts that as a mismatch. The answer is complete: relay it.
          if (status === 304 && errorCode(error) === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
            resolve({ status, headers, body: Buffer.alloc(0) });
            return;
          }
          reject(error);
        },
      });
    });
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}

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
