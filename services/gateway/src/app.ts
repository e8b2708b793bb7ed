import { usageRetentionDays } from '@armature/contracts/usage';
import { createServer, createTokenVerifier, listen, type StartedService } from '@armature/platform';
import { LeasedTokenBuckets, MemoryTokenBuckets } from '@armature/platform/rate-limit/index';
import type { Redis } from 'ioredis';
import { ApiKeyExchange } from './api-keys.ts';
import { apiRoutes } from './api-routes.ts';
import type { GatewayConfig } from './config.ts';
import { consoleStatic } from './console/static.ts';
import { traces } from './console/traces.ts';
import { traffic } from './console/traffic.ts';
import { docs } from './docs.ts';
import { edgeAuth, VerifiedTokenCache } from './edge-auth.ts';
import type { LocalApp } from './in-process-transport.ts';
import { usersJwks } from './jwks.ts';
import { gatewayLogDestination } from './log-destination.ts';
import { GatewayMetrics } from './metrics.ts';
import { defaultPlanName } from './plans.ts';
import { MemoryQuotas, quota, RedisQuotas } from './quota.ts';
import { rateLimit } from './rate-limit.ts';
import { security } from './security.ts';
import { createUpstreams, type Upstreams } from './upstreams.ts';
import { usage } from './usage.ts';
import { MemoryUsage, RedisUsage } from './usage-store.ts';
import { versioning } from './versioning.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** The gateway's counters (rate-limit store errors, upstream failures and retries). */
    gatewayMetrics: GatewayMetrics;
  }
}

/**
 * The public entry point. Per request, in order: security headers and CORS, the API version, the
 * caller's token, the rate limit, the 401 for private routes without a valid token, then the
 * request goes to an instance of the service that owns the path.
 */
export interface GatewayOptions {
  /**
   * Services running in this process, by the URL the configuration gives for them (embedded mode):
   * the gateway hands their requests to their app in process instead of over that port.
   */
  local?: ReadonlyMap<string, LocalApp>;
}

export async function startGateway(
  config: GatewayConfig,
  options: GatewayOptions = {},
): Promise<StartedService> {
  const app = createServer({
    service: 'gateway',
    logLevel: config.logLevel,
    bodyLimit: config.bodyLimit,
    trustProxy: config.trustProxy,
    metricsToken: config.metricsToken,
    logStream: gatewayLogDestination(),
  });
  const metrics = new GatewayMetrics(app.metrics);
  app.decorate('gatewayMetrics', metrics);

  const upstreams = createUpstreams(config.upstreams, config.upstream, app.log, metrics, options.local);
  registerUpstreamChecks(app, upstreams);
  const redis = config.redisUrl ? await connectRedis(config, app) : undefined;
  app.addHook('onClose', async () => {
    await upstreams.close();
    redis?.disconnect();
  });

  const keys = usersJwks(upstreams.services.users, {
    cooldownMs: config.auth.jwksCooldownMs,
    maxAgeMs: config.auth.jwksMaxAgeMs,
  });
  // The gateway remembers verified tokens itself (synchronously, see VerifiedTokenCache).
  const verifier = createTokenVerifier({
    jwks: keys.getKey,
    issuer: config.jwtIssuer,
    audience: config.jwtAudience,
    cacheSize: 0,
  });
  const tokens = new VerifiedTokenCache(verifier, config.auth.tokenCacheSize, keys.isPublished);

  await app.register(security, { corsOrigins: config.corsOrigins });
  await app.register(versioning, {
    v1Deprecation: config.versions.v1Deprecation,
    v1Sunset: config.versions.v1Sunset,
  });
  const apiKeys = new ApiKeyExchange(upstreams.services.users, {
    size: config.auth.tokenCacheSize,
    ttlMs: config.auth.apiKeyCacheMs,
  });
  await app.register(edgeAuth, { tokens, apiKeys });
  await app.register(rateLimit, {
    // Shared buckets are spent from leases taken from Redis (small ones exactly): see leased.ts.
    store: redis ? new LeasedTokenBuckets(redis) : new MemoryTokenBuckets(),
    shared: redis !== undefined,
    general: { capacity: config.rateLimit.maxRequests, windowMs: config.rateLimit.windowMs },
    login: { capacity: config.rateLimit.loginMaxRequests, windowMs: config.rateLimit.loginWindowMs },
    planRate: (request) => config.plans.get(request.apiKey?.plan || defaultPlanName)?.rate,
    metrics,
  });
  const now = config.now ?? Date.now;
  await app.register(quota, {
    plans: config.plans,
    store: redis ? new RedisQuotas(redis) : new MemoryQuotas(now),
    shared: redis !== undefined,
    now,
  });
  await app.register(usage, {
    store: redis
      ? new RedisUsage(redis, { flushMs: config.usageFlushMs, retentionDays: usageRetentionDays })
      : new MemoryUsage(),
    plans: config.plans,
    metrics,
    now,
  });
  await app.register(apiRoutes, { upstreams, metrics });
  await app.register(docs);
  await app.register(consoleStatic);
  await app.register(traces, { upstreams, ...(config.tracesUrl ? { collectorUrl: config.tracesUrl } : {}) });
  await app.register(traffic, {
    upstreams,
    peerUrls: config.peerUrls,
    ...(config.prometheusUrl ? { prometheusUrl: config.prometheusUrl } : {}),
  });

  upstreams.startHealthChecks();
  return listen(app, { host: config.host, port: config.port });
}

/**
 * `/health` probes every upstream instance (`users-1`, `users-2`, …: one down makes the gateway
 * degraded) and sums up each service (`users`: unhealthy when no instance is up).
 */
function registerUpstreamChecks(app: ReturnType<typeof createServer>, upstreams: Upstreams): void {
  for (const service of Object.values(upstreams.services)) {
    for (const instance of service.instances) {
      app.health.add(instance.name, () => instance.probe(), { critical: false });
    }
    app.health.add(service.name, async () => {
      const results = await Promise.allSettled(service.instances.map((instance) => instance.probe()));
      const up = results.filter((result) => result.status === 'fulfilled').length;
      if (up === 0) throw new Error(`no ${service.name} instance is up`);
    });
  }
}

/**
 * The shared rate-limit store. Commands fail at once while disconnected (no offline queue) and
 * after `redisTimeoutMs` when Redis is slow, so an outage costs requests nothing but their limit;
 * the client keeps reconnecting in the background. Redis unreachable at start is not fatal.
 */
async function connectRedis(config: GatewayConfig, app: ReturnType<typeof createServer>): Promise<Redis> {
  // Loaded only when Redis is configured: the embedded mode never needs the client.
  const { Redis } = await import('ioredis');
  const redis = new Redis(config.redisUrl!, {
    keyPrefix: config.rateLimit.keyPrefix,
    lazyConnect: true,
    // Every request takes a token: the takes of requests arriving together go out as one write
    // (and one read by Redis) instead of a system call each way per request.
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.rateLimit.redisTimeoutMs,
    connectTimeout: 1000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  // Failures reach the requests that need Redis, which log them once per outage.
  redis.on('error', () => {});
  await redis.connect().catch((error: unknown) => {
    app.log.warn({ err: error }, 'Redis unreachable at start: rate limits fail open until it answers');
  });
  app.health.add('redis', () => redis.ping(), { critical: false });
  return redis;
}
