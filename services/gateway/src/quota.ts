import { ApiError } from '@armature/platform';
import { growingLru } from '@armature/platform/lru';
import type { FastifyInstance, FastifyReply } from 'fastify';
import fp from 'fastify-plugin';
import type { Redis } from 'ioredis';
import { defaultPlanName, type Plans, periodOf } from './plans.ts';
import { costOf } from './routes.ts';

/** Counts of a period: adds `cost` unless that would pass `limit`; answers the count after. */
export interface QuotaStore {
  consume(
    key: string,
    cost: number,
    limit: number,
    endsAt: number,
  ): { used: number; allowed: boolean } | Promise<{ used: number; allowed: boolean }>;
}

/** Quota counts in this process (embedded mode). */
export class MemoryQuotas implements QuotaStore {
  readonly #counts = growingLru<string, { used: number; endsAt: number }>(100_000);
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  consume(key: string, cost: number, limit: number, endsAt: number) {
    let entry = this.#counts.get(key);
    if (!entry || entry.endsAt <= this.#now()) {
      entry = { used: 0, endsAt };
      this.#counts.set(key, entry);
    }
    if (entry.used + cost > limit) return { used: entry.used, allowed: false };
    entry.used += cost;
    return { used: entry.used, allowed: true };
  }
}

const consumeScript = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
if used + cost > tonumber(ARGV[2]) then return {used, 0} end
used = redis.call('INCRBY', KEYS[1], cost)
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
return {used, 1}
`;

/** Quota counts shared by every gateway on one Redis: one counter per caller and period. */
export class RedisQuotas implements QuotaStore {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  async consume(key: string, cost: number, limit: number, endsAt: number) {
    // A day past the period's end, so that clocks a little apart still agree on the count.
    const [used, allowed] = (await this.#redis.eval(
      consumeScript,
      1,
      key,
      cost,
      limit,
      endsAt + 86_400_000,
    )) as [number, number];
    return { used, allowed: allowed === 1 };
  }
}

export interface QuotaOptions {
  plans: Plans;
  store: QuotaStore;
  /** Whether `store` is shared (Redis): its failures then let the request through. */
  shared: boolean;
  now: () => number;
}

/**
 * Quotas per calendar period (UTC), for callers with a plan: a key's own plan, else the default plan
 * for members signed in with a token (anonymous callers have the per-address rate limit only). Each
 * operation costs what the contract says (`cost`, 1 by default). An exhausted quota is a 429
 * `QUOTA_EXCEEDED` with `Retry-After` at the period's end; `X-RateLimit-*` show the quota instead of
 * the rate whenever the quota is the tighter of the two.
 */
export const quota = fp(
  async (app: FastifyInstance, options: QuotaOptions) => {
    const { plans, store, shared, now } = options;
    if (![...plans.values()].some((plan) => plan.quota)) return;

    app.addHook('onRequest', (request, reply, done) => {
      const principal = request.principal;
      if (!principal || !request.api) return done();
      const plan = plans.get(request.apiKey?.plan || defaultPlanName);
      if (!plan?.quota) return done();
      const { limit, period } = plan.quota;
      const current = periodOf(period, now());
      const subject = request.apiKey ? `key:${request.apiKey.keyId}` : `user:${principal.userId}`;
      const cost = costOf(request.method, request.api.path) ?? 1;
      const key = `quota:${subject}:${current.id}`;
      const settle = (result: { used: number; allowed: boolean }) => {
        const error = applyQuota(reply, result, limit, current.endsAt, now());
        done(error);
      };
      let outcome: ReturnType<QuotaStore['consume']>;
      try {
        outcome = store.consume(key, cost, limit, current.endsAt);
      } catch (error) {
        return done(error as Error);
      }
      if (!(outcome instanceof Promise)) return settle(outcome);
      outcome.then(settle, (error: unknown) => (shared ? done() : done(error as Error)));
    });
  },
  { name: 'gateway-quota', dependencies: ['gateway-edge-auth'] },
);

function applyQuota(
  reply: FastifyReply,
  result: { used: number; allowed: boolean },
  limit: number,
  endsAt: number,
  now: number,
): ApiError | undefined {
  const remaining = Math.max(0, limit - result.used);
  const rateRemaining = Number(reply.getHeader('x-ratelimit-remaining') ?? Number.POSITIVE_INFINITY);
  const reset = Math.ceil(endsAt / 1000);
  if (!result.allowed || remaining < rateRemaining) {
    reply.header('x-ratelimit-limit', limit);
    reply.header('x-ratelimit-remaining', remaining);
    reply.header('x-ratelimit-reset', reset);
  }
  if (result.allowed) return undefined;
  return new ApiError('QUOTA_EXCEEDED', {
    headers: { 'retry-after': String(Math.max(1, Math.ceil((endsAt - now) / 1000))) },
  });
}
