import { type Dispatcher, Pool } from 'undici';
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
