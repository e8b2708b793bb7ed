/**
 * Retries of requests that are safe to send again: on a network error or a 502/503/504, the methods
 * that change nothing twice (GET, HEAD, OPTIONS, PUT, DELETE) and any request carrying an
 * `Idempotency-Key`; on a 429, any request (a refused request was not processed), after the
 * `Retry-After` the server asked for. Backoff is exponential with jitter, capped.
 */
export interface RetryOptions {
  /** Attempts after the first (default 3; 0 turns retries off). */
  retries?: number;
  /** The first backoff, doubled at each attempt (default 200 ms). */
  baseDelayMs?: number;
  /** No wait is longer than this (default 10 s); a `Retry-After` beyond it is not waited for. */
  maxDelayMs?: number;
  /** How to wait (default a timer); tests pass their own. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1) for the jitter (default Math.random). */
  random?: () => number;
}

const idempotentMethods = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);
const retriedStatuses = new Set([502, 503, 504]);

export type FetchLike = (request: Request) => Promise<Response>;

export function retryingFetch(fetchImpl: FetchLike, options: RetryOptions = {}): FetchLike {
  const retries = options.retries ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;
  const backoff = (attempt: number) =>
    Math.round(Math.min(maxDelayMs, baseDelayMs * 2 ** attempt) * (0.5 + random() / 2));

  return async (request) => {
    const safeToRepeat = idempotentMethods.has(request.method) || request.headers.has('idempotency-key');
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries;
      let response: Response;
      try {
        // A clone per attempt: a body can be read once, and every attempt must send it whole.
        response = await fetchImpl(request.clone());
      } catch (error) {
        if (last || !safeToRepeat || request.signal.aborted) throw error;
        await sleep(backoff(attempt));
        continue;
      }
      if (last) return response;
      if (response.status === 429) {
        const wait = retryAfterMs(response) ?? backoff(attempt);
        if (wait > maxDelayMs) return response;
        await response.body?.cancel();
        await sleep(wait);
        continue;
      }
      if (safeToRepeat && retriedStatuses.has(response.status)) {
        await response.body?.cancel();
        await sleep(Math.min(maxDelayMs, retryAfterMs(response) ?? backoff(attempt)));
        continue;
      }
      return response;
    }
  };
}

/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function retryAfterMs(response: Response, now = Date.now()): number | undefined {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
