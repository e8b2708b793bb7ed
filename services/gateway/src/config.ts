import { isIP } from 'node:net';
import { type ServiceName, serviceNames } from '@armature/contracts/services';
import {
  type CommonConfig,
  ConfigError,
  readCommonConfig,
  readInt,
  readString,
  readUrl,
  readUrlList,
} from '@armature/platform';
import { serviceVariables } from '@armature/platform/kit/config';
import { type Plans, readPlans } from './plans.ts';

type Env = Record<string, string | undefined>;

export interface GatewayConfig extends CommonConfig {
  host: string;
  port: number;
  /** Instances of each upstream service (several → load is spread across them). */
  upstreams: Record<ServiceName, string[]>;
  upstream: {
    /** Keep-alive connections per upstream instance. */
    connections: number;
    connectTimeoutMs: number;
    /** Longest wait for an upstream's response headers, and longest silence while its body arrives. */
    timeoutMs: number;
    healthIntervalMs: number;
    breakerFailures: number;
    breakerHalfOpenAfterMs: number;
  };
  rateLimit: {
    maxRequests: number;
    windowMs: number;
    loginMaxRequests: number;
    loginWindowMs: number;
    /** Namespace of the buckets in Redis; gateways that share a budget share the prefix. */
    keyPrefix: string;
    /** How long a Redis call may take before the request goes on without it. */
    redisTimeoutMs: number;
  };
  auth: {
    /** Verified tokens remembered (each until its own expiry). */
    tokenCacheSize: number;
    /** How long a validated API key is remembered: the bound on how late a revocation is seen. */
    apiKeyCacheMs: number;
    /** Least time between two JWKS fetches caused by an unknown `kid`. */
    jwksCooldownMs: number;
    /** Longest time a fetched JWKS is used before it is fetched again. */
    jwksMaxAgeMs: number;
  };
  versions: {
    /** When v1 was deprecated (`Deprecation` header). */
    v1Deprecation: Date;
    /** When v1 stops being served (`Sunset` header). */
    v1Sunset: Date;
  };
  /** Origins allowed by CORS; `['*']` for any; empty → no CORS headers at all. */
  corsOrigins: string[];
  /** Plans by name (`PLANS`): a rate and a quota each; `default` is that of signed-in members. */
  plans: Plans;
  /** How often a gateway sends its usage counts to Redis (`USAGE_FLUSH_MS`). */
  usageFlushMs: number;
  /** The clock of quota periods (tests set it; the system clock otherwise). */
  now?: () => number;
  /** Where an admin reads traces when they go to an OpenTelemetry collector (`CONSOLE_TRACES_URL`). */
  tracesUrl?: string;
  /** `CONSOLE_PROMETHEUS_URL`: a Prometheus server the console's traffic is read from, when set. */
  prometheusUrl?: string;
  /** `GATEWAY_PEER_URLS`: the deployment's other gateways, which the console's map shows. */
  peerUrls: string[];
  /** Fastify's `trustProxy`: which proxies to believe in `X-Forwarded-For` when working out a client's IP. */
  trustProxy: boolean | string[];
}

export function readGatewayConfig(env: Env = process.env): GatewayConfig {
  const upstreams = readUpstreams(env);
  const v1Deprecation = readDate(env, 'API_V1_DEPRECATION', '2026-11-01');
  const v1Sunset = readDate(env, 'API_V1_SUNSET', '2027-11-01');
  if (v1Sunset < v1Deprecation)
    throw new ConfigError('API_V1_SUNSET', 'must not be before API_V1_DEPRECATION');
  const common = readCommonConfig(env);
  return {
    ...common,
    // Rate limits, usage and quotas may have a Redis of their own, apart from the services' caches.
    redisUrl: readUrl(env, 'RATE_LIMIT_REDIS_URL', ['redis:', 'rediss:']) ?? common.redisUrl,
    host: readString(env, 'HOST', '0.0.0.0'),
    port: readInt(env, 'PORT', 8080, { min: 0, max: 65535 }),
    upstreams,
    upstream: {
      connections: readInt(env, 'UPSTREAM_CONNECTIONS', 128, { min: 1, max: 10_000 }),
      connectTimeoutMs: readInt(env, 'UPSTREAM_CONNECT_TIMEOUT_MS', 2000, { min: 10, max: 60_000 }),
      timeoutMs: readInt(env, 'UPSTREAM_TIMEOUT_MS', 10_000, { min: 10, max: 600_000 }),
      healthIntervalMs: readInt(env, 'UPSTREAM_HEALTH_INTERVAL_MS', 5000, { min: 50, max: 600_000 }),
      breakerFailures: readInt(env, 'BREAKER_FAILURE_THRESHOLD', 5, { min: 1, max: 1000 }),
      breakerHalfOpenAfterMs: readInt(env, 'BREAKER_HALF_OPEN_AFTER_MS', 10_000, { min: 10, max: 600_000 }),
    },
    rateLimit: {
      maxRequests: readInt(env, 'RATE_LIMIT_MAX_REQUESTS', 100, { min: 1, max: 10_000_000 }),
      windowMs: readInt(env, 'RATE_LIMIT_WINDOW_MS', 60_000, { min: 100, max: 86_400_000 }),
      loginMaxRequests: readInt(env, 'LOGIN_RATE_LIMIT_MAX_REQUESTS', 5, { min: 1, max: 10_000_000 }),
      loginWindowMs: readInt(env, 'LOGIN_RATE_LIMIT_WINDOW_MS', 60_000, { min: 100, max: 86_400_000 }),
      keyPrefix: readKeyPrefix(env, 'RATE_LIMIT_KEY_PREFIX', 'armature:ratelimit:'),
      redisTimeoutMs: readInt(env, 'RATE_LIMIT_REDIS_TIMEOUT_MS', 250, { min: 10, max: 10_000 }),
    },
    auth: {
      tokenCacheSize: readInt(env, 'AUTH_TOKEN_CACHE_SIZE', 10_000, { min: 0, max: 10_000_000 }),
      apiKeyCacheMs: readInt(env, 'API_KEY_CACHE_MS', 1000, { min: 1, max: 1000 }),
      jwksCooldownMs: readInt(env, 'JWKS_COOLDOWN_MS', 30_000, { min: 0, max: 3_600_000 }),
      jwksMaxAgeMs: readInt(env, 'JWKS_MAX_AGE_MS', 600_000, { min: 1000, max: 86_400_000 }),
    },
    versions: { v1Deprecation, v1Sunset },
    corsOrigins: readOrigins(env, 'CORS_ORIGINS'),
    trustProxy: readTrustProxy(env, 'TRUST_PROXY'),
    plans: readPlansVariable(env),
    usageFlushMs: readInt(env, 'USAGE_FLUSH_MS', 1000, { min: 50, max: 60_000 }),
    ...readTracesUrl(env),
    ...readPrometheusUrl(env),
    peerUrls: readPeerUrls(env),
  };
}

function readTracesUrl(env: Env): { tracesUrl?: string } {
  const url = readHttpUrl(env, 'CONSOLE_TRACES_URL');
  return url === undefined ? {} : { tracesUrl: url };
}

function readPrometheusUrl(env: Env): { prometheusUrl?: string } {
  const url = readHttpUrl(env, 'CONSOLE_PROMETHEUS_URL');
  return url === undefined ? {} : { prometheusUrl: url };
}

function readPeerUrls(env: Env): string[] {
  const raw = present(env, 'GATEWAY_PEER_URLS');
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => readHttpUrl({ GATEWAY_PEER_URLS: item }, 'GATEWAY_PEER_URLS')!);
}

function readHttpUrl(env: Env, name: string): string | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new ConfigError(name, `must be an http(s) URL, got "${raw}"`);
  }
  return url.href;
}

function present(env: Env, name: string): string | undefined {
  const raw = env[name]?.trim();
  return raw ? raw : undefined;
}

/** A calendar date (`2027-11-01`) or a full ISO 8601 timestamp. */
function readDate(env: Env, name: string, fallback: string): Date {
  const raw = present(env, name) ?? fallback;
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(raw)) {
    throw new ConfigError(name, `must be a date like 2027-11-01, got "${raw}"`);
  }
  const date = new Date(raw.length === 10 ? `${raw}T00:00:00Z` : raw);
  if (Number.isNaN(date.getTime())) throw new ConfigError(name, `must be a real date, got "${raw}"`);
  return date;
}

function readKeyPrefix(env: Env, name: string, fallback: string): string {
  const raw = present(env, name) ?? fallback;
  if (!/^[\w:.-]{1,100}$/.test(raw)) {
    throw new ConfigError(name, 'must be 1 to 100 letters, digits or the characters _ : . -');
  }
  return raw;
}

/** `*`, or a comma list of origins such as `https://app.example.com,http://localhost:5173`. */
function readOrigins(env: Env, name: string): string[] {
  const raw = present(env, name);
  if (raw === undefined) return [];
  const origins = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (origins.includes('*')) {
    if (origins.length > 1) throw new ConfigError(name, 'must be "*" alone or a list of origins');
    return ['*'];
  }
  for (const origin of origins) {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(name, `must list origins like https://app.example.com, got "${origin}"`);
    }
    if (!['http:', 'https:'].includes(url.protocol) || url.origin !== origin.replace(/\/$/, '')) {
      throw new ConfigError(name, `must list origins (scheme, host, port; no path), got "${origin}"`);
    }
  }
  return origins.map((origin) => origin.replace(/\/$/, ''));
}

const namedProxyRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

/**
 * `true`/`false`, or a comma list of proxy addresses, CIDR ranges and the names `loopback`,
 * `linklocal`, `uniquelocal`. A hop count is refused: it cannot tell a proxy from a client that
 * sends its own `X-Forwarded-For`, and Fastify ignores it for that reason.
 */
function readTrustProxy(env: Env, name: string): boolean | string[] {
  const raw = present(env, name);
  if (raw === undefined) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  if (/^(false|no|off)$/i.test(raw)) return false;
  if (/^\d+$/.test(raw)) {
    throw new ConfigError(name, 'must name the proxies (addresses or CIDR ranges), not a hop count');
  }
  const entries = raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (namedProxyRanges.has(entry)) continue;
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (!family || !bitsOk || extra !== undefined) {
      throw new ConfigError(
        name,
        `must be true, false, or proxy addresses/CIDR ranges; "${entry}" is none of these`,
      );
    }
  }
  return entries;
}

/** `<SERVICE>_SERVICE_URLS` for every service of the contract's catalog: each must list one URL or more. */
function readUpstreams(env: Env): Record<ServiceName, string[]> {
  const entries = serviceNames.map((service) => {
    const variable = serviceVariables(service).serviceUrls;
    const urls = readUrlList(env, variable);
    if (!urls?.length) throw new ConfigError(variable, `must list at least one ${service} service URL`);
    return [service, urls] as const;
  });
  return Object.fromEntries(entries) as Record<ServiceName, string[]>;
}

function readPlansVariable(env: Env): Plans {
  try {
    return readPlans(env.PLANS);
  } catch (error) {
    throw new ConfigError('PLANS', error instanceof Error ? error.message : String(error));
  }
}
