import { createHash } from 'node:crypto';
import { ApiError } from '@armature/platform';
import {
  MemoryTokenBuckets,
  type TokenBucketResult,
  type TokenBucketRule,
  type TokenBucketStore,
} from '@armature/platform/rate-limit/index';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayMetrics } from './metrics.ts';
import { costOf } from './routes.ts';

export interface RateLimitOptions {
  /** Where the general buckets live: in-process, or Redis shared by every gateway. */
  store: TokenBucketStore;
  /** Whether `store` is shared (Redis): its failures then fail open instead of failing the request. */
  shared: boolean;
  general: TokenBucketRule;
  login: TokenBucketRule;
  /** The rate of a caller's plan, when it has one (else `general`). */
  planRate?: (request: FastifyRequest) => TokenBucketRule | undefined;
  metrics: GatewayMetrics;
}

/**
 * Token-bucket rate limits on every request but health probes, per user when the token is valid,
 * else per client IP, each operation taking its contract `cost` in tokens; and a stricter bucket on `POST /auth/login` per IP and email, so one address
 * cannot try passwords against one account quickly (the same bucket size guards password resets and
 * changes: see `strictKeys`). Every response carries `X-RateLimit-Limit`,
 * `X-RateLimit-Remaining` and `X-RateLimit-Reset` (unix seconds when the bucket is full again);
 * a refused request gets 429 RATE_LIMITED with `Retry-After`.
 *
 * When the shared store (Redis) fails, general traffic goes on unlimited (fail open: an outage of
 * the limiter must not become an outage of the API) with a warning and a counter; the login bucket
 * falls back to in-process buckets, since guessing passwords must stay slow.
 */
export const rateLimit = fp(
  async (app: FastifyInstance, options: RateLimitOptions) => {
    const { store, shared, general, login, metrics, planRate } = options;
    const loginFallback = new MemoryTokenBuckets();
    const outage = new OutageLog(app.log);
    /** `apply`, counting each refusal (429) by bucket. */
    const refuse = (reply: FastifyReply, result: TokenBucketResult, bucket: 'general' | 'login') => {
      const refusal = apply(reply, result);
      if (refusal) metrics.rateLimitRejections.inc({ bucket });
      return refusal;
    };
    app.addHook('onClose', () => loginFallback.close());

    app.addHook('onRequest', (request, reply, done) => {
      if (request.url.startsWith('/health')) return done();
      const plan = request.principal && planRate ? planRate(request) : undefined;
      const rule = plan ?? general;
      const key = request.principal
        ? `${plan ? `plan:${plan.capacity}:${plan.windowMs}:` : ''}user:${request.principal.userId}`
        : `ip:${request.ip}`;
      // An operation takes what the contract says it costs (a checkout counts more than a read).
      const cost = request.api ? (costOf(request.method, request.api.path) ?? 1) : 1;
      let taken: TokenBucketResult | Promise<TokenBucketResult>;
      try {
        taken = store.take(key, rule, cost);
      } catch (error) {
        taken = Promise.reject(error);
      }
      if (!(taken instanceof Promise)) return done(refuse(reply, taken, 'general'));
      taken.then(
        (result) => {
          outage.recovered();
          done(refuse(reply, result, 'general'));
        },
        (error: unknown) => {
          if (!shared) return done(error as Error);
          metrics.rateLimitStoreErrors.inc({ bucket: 'general', outcome: 'allowed' });
          outage.failed(error);
          setHeaders(reply, rule.capacity, rule.capacity, 0);
          done();
        },
      );
    });

    app.addHook('preHandler', (request, reply, done) => {
      const keys = strictKeys(request);
      if (keys.length === 0) return done();
      Promise.all(keys.map((key) => takeLogin(key)))
        .then((results) => {
          // The emptiest bucket decides (and labels the response).
          const result = results.reduce((a, b) => (!b.allowed || b.remaining < a.remaining ? b : a));
          done(refuse(reply, result, 'login'));
        })
        .catch(done);
    });

    async function takeLogin(key: string): Promise<TokenBucketResult> {
      try {
        return await store.take(key, login);
      } catch (error) {
        if (!shared) throw error;
        metrics.rateLimitStoreErrors.inc({ bucket: 'login', outcome: 'in_process' });
        outage.failed(error);
        return loginFallback.take(key, login);
      }
    }
  },
  { name: 'gateway-rate-limit', dependencies: ['gateway-edge-auth'] },
);

function setHeaders(reply: FastifyReply, limit: number, remaining: number, resetAfterMs: number): void {
  reply.header('x-ratelimit-limit', limit);
  reply.header('x-ratelimit-remaining', remaining);
  reply.header('x-ratelimit-reset', Math.ceil((Date.now() + resetAfterMs) / 1000));
}

/** Labels the response with the bucket; returns the 429 to answer with when it is empty. */
function apply(reply: FastifyReply, result: TokenBucketResult): ApiError | undefined {
  setHeaders(reply, result.limit, result.remaining, result.resetAfterMs);
  if (result.allowed) return undefined;
  return new ApiError('RATE_LIMITED', {
    headers: { 'retry-after': String(Math.max(1, Math.ceil(result.retryAfterMs / 1000))) },
  });
}

/**
 * The strict (login) buckets a request takes from: guessing a password, a reset link or asking for
 * reset mails must stay slow. A login per address and email; a reset request per address and,
 * separately, per email (so neither many addresses nor many emails get around it); a reset's
 * confirmation per address; a password change per user; a second-factor code per address at sign-in
 * and per user when it is turned on or off.
 */
export function strictKeys(request: FastifyRequest): string[] {
  const path = request.api?.path;
  if (request.method === 'POST' && path === '/auth/login') {
    return [`login:${request.ip}:${emailDigest(request)}`];
  }
  if (request.method === 'POST' && path === '/auth/password-reset') {
    return [`reset:ip:${request.ip}`, `reset:email:${emailDigest(request)}`];
  }
  if (request.method === 'POST' && path === '/auth/password-reset/confirm') return [`reset:ip:${request.ip}`];
  if (request.method === 'PUT' && path !== undefined && /^\/users\/[^/]+\/password$/.test(path)) {
    return [`password:${request.principal?.userId ?? request.ip}`];
  }
  // Guessing a second-factor code: per address at sign-in, per user when turning it on or off.
  if (request.method === 'POST' && path === '/auth/mfa') return [`mfa:ip:${request.ip}`];
  if (request.method === 'PUT' && path !== undefined && /^\/users\/[^/]+\/mfa$/.test(path)) {
    return [`mfa:${request.principal?.userId ?? request.ip}`];
  }
  return [];
}

/** The login's email, normalised and hashed (no addresses in Redis keys); empty when absent. */
function emailDigest(request: FastifyRequest): string {
  let email = '';
  const body = request.body;
  if (Buffer.isBuffer(body) && body.length > 0) {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { email?: unknown };
      if (typeof parsed?.email === 'string') email = parsed.email.trim().toLowerCase();
    } catch {
      // Not JSON: the users service answers it with a 400; the bucket counts it under no email.
    }
  }
  return createHash('sha256').update(email).digest('base64url').slice(0, 22);
}

/** One warning when the shared store starts failing and one note when it is back, not one per request. */
class OutageLog {
  #down = false;
  readonly #log: FastifyBaseLogger;

  constructor(log: FastifyBaseLogger) {
    this.#log = log;
  }

  failed(error: unknown): void {
    if (this.#down) return;
    this.#down = true;
    this.#log.warn(
      { err: error },
      'rate-limit store unreachable: general traffic is not limited, login attempts are limited in-process',
    );
  }

  recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    this.#log.info('rate-limit store reachable again: shared limits apply');
  }
}
