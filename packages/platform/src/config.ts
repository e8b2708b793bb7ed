/**
 * Configuration from the environment. Every variable is read once at start; a value that is present
 * but invalid throws a ConfigError naming the variable, which `main` prints as one line before exiting.
 */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, reason: string) {
    super(`Invalid configuration: ${variable} ${reason}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

function present(env: Env, name: string): string | undefined {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

export function readInt(
  env: Env,
  name: string,
  fallback: number,
  { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

export function readString(env: Env, name: string, fallback: string): string;
export function readString(env: Env, name: string): string | undefined;
export function readString(env: Env, name: string, fallback?: string): string | undefined {
  return present(env, name) ?? fallback;
}

export function readBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

export function readEnum<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (!allowed.includes(raw as T))
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** A URL whose protocol is one of `protocols` (e.g. `postgres:`); unset → undefined. */
export function readUrl(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, 'must be a URL');
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${url.protocol}"`);
  }
  if (!url.hostname) throw new ConfigError(name, 'must name a host');
  return raw;
}

/** A comma-separated list of URLs (several instances of one service, several servers of a cluster). */
export function readUrlList(
  env: Env,
  name: string,
  protocols: readonly string[] = ['http:', 'https:'],
): string[] | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const url = readUrl({ [name]: part }, name, protocols);
      return url!.replace(/\/+$/, '');
    });
}

/** Settings every service shares. */
export interface CommonConfig {
  logLevel: string;
  dataDir: string;
  redisUrl?: string;
  natsUrl?: string;
  /** Bodies above this many bytes are refused with 413. */
  bodyLimit: number;
  /** How long shutdown waits for in-flight requests before forcing exit. */
  shutdownTimeoutMs: number;
  jwtIssuer: string;
  jwtAudience: string;
  /** Signs pagination cursors; every instance of a service must share it. */
  cursorSecret: string;
  /** When set, `/metrics` requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
}

export function readCommonConfig(env: Env = process.env): CommonConfig {
  return {
    logLevel: readEnum(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    dataDir: readString(env, 'DATA_DIR', './data'),
    redisUrl: readUrl(env, 'REDIS_URL', ['redis:', 'rediss:']),
    natsUrl: readUrlList(env, 'NATS_URL', ['nats:', 'tls:'])?.join(','),
    bodyLimit: readInt(env, 'BODY_LIMIT_BYTES', 1_048_576, { min: 1024, max: 64 * 1_048_576 }),
    shutdownTimeoutMs: readInt(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100, max: 600_000 }),
    jwtIssuer: readString(env, 'JWT_ISSUER', 'armature'),
    jwtAudience: readString(env, 'JWT_AUDIENCE', 'armature-api'),
    cursorSecret: readString(env, 'CURSOR_SECRET', 'armature-cursor-secret-change-me'),
    metricsToken: readString(env, 'METRICS_TOKEN'),
  };
}
