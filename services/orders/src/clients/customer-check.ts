import { ApiError, type EventLog, silentLog, toPublicId } from '@armature/platform';
import { CircuitBreaker, isBrokenCircuitError } from '@armature/platform/resilience/index';
import type { Kysely } from 'kysely';
import { Counter, type Registry } from 'prom-client';
import { Pool } from 'undici';
import { customerStatus } from '../db/customers.ts';
import type { OrdersDatabase } from '../db/schema.ts';

export interface CustomerCheckOptions {
  db: Kysely<OrdersDatabase>;
  /** The users service's instances, asked in turn. */
  usersUrls: string[];
  /** A call slower than this counts as failed. */
  timeoutMs: number;
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one call probes the users service again. */
  halfOpenAfterMs: number;
  /** Refuse a customer whose email is not verified (when the users service answers). */
  requireVerifiedEmail?: boolean;
  /**
   * How long the users service's "active" for a user, asked with one token, is taken as the answer
   * for the next checkouts with that token (0: ask every time).
   */
  rememberMs?: number;
  /** The clock (milliseconds), for tests. */
  now?: () => number;
  log?: EventLog;
  registry?: Registry;
}

export type CheckSource = 'users' | 'projection' | 'remembered';
type Answer = 'active' | 'gone' | 'token-gone' | 'unverified';

/** Why the users service could not answer. */
class UsersUnavailableError extends Error {
  readonly reason: 'timeout' | 'error' | 'status';
  constructor(reason: 'timeout' | 'error' | 'status', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/**
 * Before a checkout, confirms that the customer is still an active user by asking the users service
 * (`GET /v1/users/{id}` with the caller's own token: no service credential needed, and a deleted
 * member's token is refused there). The call has a timeout and goes through a circuit breaker
 * (cockatiel, as in the gateway). When it fails or the circuit is open, the answer comes from the
 * customers projection fed by `user.*` events: a customer it knows as deleted is refused, any other
 * is let through (the access token was verified, so the user existed when it was issued). Every
 * fallback is counted and logged (at most one line per 10 s with the count, so an outage does not
 * flood the log). With `requireVerifiedEmail`, a customer whose `emailVerifiedAt` is null is refused;
 * the projection does not know it, so the fallback lets them through.
 *
 * A shopper checks out many times in a row with one token, so the users service's "active" is
 * remembered per user and token for `rememberMs` (a second by default) and not asked again meanwhile:
 * a user deleted within that second is still refused by the checkout itself once the projection has
 * the deletion (the checkout statement reads it under a lock), as a token is refused within a second
 * of it (`DeletedCustomers`). Refusals and fallbacks are never remembered.
 */
export class CustomerCheck {
  readonly #options: CustomerCheckOptions;
  readonly #breaker: CircuitBreaker;
  readonly #log: EventLog;
  readonly #fallbacks: Counter<'reason'>;
  readonly #checks: Counter<'source' | 'outcome'>;
  /** One keep-alive pool per users instance: a checkout's call reuses a warm connection. */
  readonly #pools: Pool[];
  /** `${userId} ${authorization}` → until when the users service's "active" holds. */
  readonly #remembered = new Map<string, number>();
  readonly #rememberMs: number;
  readonly #now: () => number;
  #next = 0;
  #unlogged = 0;
  #lastLogAt = 0;

  constructor(options: CustomerCheckOptions) {
    this.#options = options;
    this.#log = options.log ?? silentLog;
    this.#rememberMs = options.rememberMs ?? 1000;
    this.#now = options.now ?? Date.now;
    this.#pools = options.usersUrls.map((url) => new Pool(url, { connections: 32 }));
    this.#breaker = new CircuitBreaker({
      failureThreshold: options.failureThreshold,
      halfOpenAfterMs: options.halfOpenAfterMs,
      isFailure: (error) => error instanceof UsersUnavailableError,
    });
    const registers = options.registry ? [options.registry] : [];
    this.#fallbacks = new Counter({
      name: 'orders_customer_check_fallbacks_total',
      help: 'Checkouts whose customer was checked against the projection because the users service could not answer',
      labelNames: ['reason'] as const,
      registers,
    });
    this.#checks = new Counter({
      name: 'orders_customer_checks_total',
      help: 'Customer checks before a checkout, by where the answer came from and what it was',
      labelNames: ['source', 'outcome'] as const,
      registers,
    });
  }

  get breakerState() {
    return this.#breaker.state;
  }

  get fallbacks(): Counter<'reason'> {
    return this.#fallbacks;
  }

  /**
   * Resolves when `userId` (a UUID) may check out; throws 404 for a user that is gone and 401 when
   * the caller's own account is gone. Returns where the answer came from.
   */
  async assertActive(userId: string, authorization: string | undefined): Promise<CheckSource> {
    const key = `${userId} ${authorization ?? ''}`;
    if (this.#rememberMs > 0) {
      const until = this.#remembered.get(key);
      if (until !== undefined && until > this.#now()) {
        this.#checks.inc({ source: 'remembered', outcome: 'active' });
        return 'remembered';
      }
    }
    let answer: Answer;
    let source: CheckSource = 'users';
    try {
      answer = await this.#breaker.execute(() => this.#ask(userId, authorization));
      if (answer === 'active' && this.#rememberMs > 0) this.#remember(key);
    } catch (error) {
      if (!(error instanceof UsersUnavailableError) && !isBrokenCircuitError(error)) throw error;
      source = 'projection';
      const reason = isBrokenCircuitError(error) ? 'circuit_open' : error.reason;
      this.#fallbacks.inc({ reason });
      this.#logFallback(reason, error);
      answer = (await customerStatus(this.#options.db, userId)) === 'deleted' ? 'gone' : 'active';
    }
    this.#checks.inc({ source, outcome: answer === 'active' ? 'active' : 'refused' });
    if (answer === 'gone') throw new ApiError('NOT_FOUND', { message: 'The user does not exist' });
    if (answer === 'unverified') {
      throw new ApiError('EMAIL_NOT_VERIFIED', {
        message: 'Verify your email address before checking out (follow the link in the mail we sent)',
      });
    }
    if (answer === 'token-gone') {
      throw new ApiError('INVALID_TOKEN', {
        message: 'The account behind this token no longer exists',
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    }
    return source;
  }

  #remember(key: string): void {
    // Bounded by starting over when full: what is forgotten is asked again, nothing is lost.
    if (this.#remembered.size >= 10_000 && !this.#remembered.has(key)) this.#remembered.clear();
    this.#remembered.set(key, this.#now() + this.#rememberMs);
  }

  /** Closes the connections to the users service. */
  async close(): Promise<void> {
    await Promise.all(this.#pools.map((pool) => pool.close()));
  }

  async #ask(userId: string, authorization: string | undefined): Promise<Answer> {
    const pool = this.#pools[this.#next++ % this.#pools.length]!;
    // A plain timer, cleared once the answer is in: AbortSignal.timeout() and fetch's streams built
    // DOMExceptions on every checkout.
    const abort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.#options.timeoutMs);
    let statusCode: number;
    let verified = true;
    try {
      const response = await pool.request({
        method: 'GET',
        path: `/v1/users/${toPublicId('user', userId)}`,
        headers: authorization
          ? { accept: 'application/json', authorization }
          : { accept: 'application/json' },
        signal: abort.signal,
      });
      statusCode = response.statusCode;
      if (this.#options.requireVerifiedEmail && statusCode === 200) {
        verified =
          ((await response.body.json()) as { emailVerifiedAt?: string | null }).emailVerifiedAt != null;
      } else {
        // Only the status matters; read the rest off so the connection goes back to the pool.
        await response.body.dump();
      }
    } catch (error) {
      throw new UsersUnavailableError(timedOut ? 'timeout' : 'error', `users service: ${String(error)}`, {
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    if (statusCode === 200 || statusCode === 304) return verified ? 'active' : 'unverified';
    if (statusCode === 404) return 'gone';
    if (statusCode === 401) return 'token-gone';
    throw new UsersUnavailableError('status', `users service answered ${statusCode}`);
  }

  #logFallback(reason: string, error: unknown): void {
    this.#unlogged++;
    const now = Date.now();
    if (now - this.#lastLogAt < 10_000) return;
    this.#log.warn(
      { reason, err: error, fallbacks: this.#unlogged, breaker: this.#breaker.state },
      'users service did not confirm the customer; checked against the customers projection instead',
    );
    this.#unlogged = 0;
    this.#lastLogAt = now;
  }
}
