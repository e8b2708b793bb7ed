import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

/** ioredis, loaded only by a process that uses Redis (the embedded mode never does). */
const loadRedis = () => (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;

import type { CacheLogger } from './cache.ts';
import { bypass, type CacheEntry, type CacheMiss, type CacheSetOptions, type CacheStore } from './store.ts';

/*
 * Layout under the prefix P (one prefix per service):
 *   P e:{key}    an entry: "{epoch}\n{etag}\n{value}", with the entry's TTL
 *   P t:{tag}    a set of the entry keys carrying the tag; lives as long as its longest-lived entry
 *   P g:{name}   a generation stamp, rewritten by every invalidation of the key or tag `name`
 *   P epoch      the current epoch; an entry written under another epoch is ignored (a miss)
 *   P run        the run_id of the Redis server the epoch was last checked against
 *   P seq        a counter that makes stamps unique
 *
 * The scripts run in Lua because each must read and write in one atomic step: invalidation reads a
 * tag's members and deletes them, a write compares generations before it stores. MULTI cannot use a
 * value read inside the transaction; WATCH would take a round trip and a retry loop per call.
 * (Entries are reached through tag sets, not KEYS, so the scripts need one Redis, not a Cluster.)
 */

/**
 * Stores an entry if nothing it depends on was invalidated since the miss that loaded it. A tag set
 * would keep the keys of expired entries while new ones keep it alive (`users`), so each addition
 * also checks two random members and removes those whose entry is gone: the set stays within about
 * twice its live entries, at the cost of a few lookups per miss.
 */
const writeScript = `
local epoch = redis.call('GET', KEYS[1]) or ''
local n = tonumber(ARGV[5])
if ARGV[1] == 'check' then
  if epoch ~= ARGV[2] then return 0 end
  for i = 1, n do
    if (redis.call('GET', KEYS[2 + i]) or '') ~= ARGV[5 + i] then return 0 end
  end
end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], epoch .. '\\n' .. ARGV[4], 'PX', ttl)
for i = 3 + n, #KEYS do
  for _, member in ipairs(redis.call('SRANDMEMBER', KEYS[i], 2)) do
    if redis.call('EXISTS', member) == 0 then redis.call('SREM', KEYS[i], member) end
  end
  redis.call('SADD', KEYS[i], KEYS[2])
  if redis.call('PTTL', KEYS[i]) < ttl then redis.call('PEXPIRE', KEYS[i], ttl) end
end
return 1
`;

/** Deletes each name's entry and its tagged entries, and stamps its generation. */
const invalidateScript = `
local now = redis.call('TIME')
local stamp = now[1] .. '.' .. now[2] .. '.' .. redis.call('INCR', KEYS[1])
for i = 2, #KEYS, 3 do
  redis.call('DEL', KEYS[i])
  local members = redis.call('SMEMBERS', KEYS[i + 1])
  for j = 1, #members, 500 do
    redis.call('DEL', unpack(members, j, math.min(j + 499, #members)))
  end
  redis.call('DEL', KEYS[i + 1])
  redis.call('SET', KEYS[i + 2], stamp, 'PX', ARGV[1])
end
return 1
`;

/** Starts a new epoch when asked, or when the server is not the one the epoch was checked against. */
const recoverScript = `
if ARGV[2] == '1' or redis.call('GET', KEYS[2]) ~= ARGV[1] then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[1], now[1] .. '.' .. now[2] .. '.' .. redis.call('INCR', KEYS[3]))
  redis.call('SET', KEYS[2], ARGV[1])
  return 1
end
return 0
`;

type Script = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<number>;

/** How long a generation stamp is kept; a load that took longer than half of it is not stored. */
const GENERATION_TTL_MS = 600_000;
/** After a failed read, reads go to the loader for this long before Redis is tried again. */
const READ_PAUSE_MS = 1000;
/** How often recovery is retried while Redis answers but recovery fails. */
const RECOVERY_RETRY_MS = 1000;

export interface RedisCacheStoreOptions {
  url: string;
  /** Namespace of every key (`armature:users:cache:`); instances that share a cache share it. */
  prefix: string;
  /** How long one command may take before the call goes on without the cache. */
  commandTimeoutMs?: number;
  /** Entries written during `probationMs` after an outage live at most this long. */
  staleBoundMs?: number;
  probationMs?: number;
  /** Longest pause between two reconnection attempts. */
  maxReconnectDelayMs?: number;
  log?: CacheLogger & { info(object: object, message: string): void };
}

interface WriteToken {
  /** `MGET epoch g:{key} g:{tag}…` taken at the miss, before the loader ran. */
  readonly stamps: (string | null)[];
  readonly at: number;
}

/**
 * The Redis adapter. Redis failing never fails a call: while it is unreachable, reads report misses
 * (the caller loads from the database) and writes are skipped. What it must not do is serve an entry
 * made stale by a change whose invalidation never reached Redis. So:
 *
 * - an invalidation that fails, or a lost connection, marks the store: before it uses Redis again it
 *   starts a new epoch, which turns every entry written before into a miss, in every instance;
 * - a restarted Redis (new `run_id`, maybe reloaded from an older snapshot that resurrects entries
 *   invalidated since) also starts a new epoch, whichever instance notices first;
 * - an instance that has just recovered caps the TTL of what it writes at `staleBoundMs` for
 *   `probationMs`: an instance still cut off may change data meanwhile, and may never reconnect.
 * - a value loaded while its key or a tag was invalidated is not stored (generation check).
 *
 * ioredis does not queue commands while disconnected (`enableOfflineQueue: false`), gives up on a
 * command after `commandTimeoutMs`, does not retry it (`maxRetriesPerRequest: 0`), and reconnects
 * by itself, forever, at most `maxReconnectDelayMs` apart.
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #epochKey: string;
  readonly #runKey: string;
  readonly #seqKey: string;
  readonly #staleBoundMs: number;
  readonly #probationMs: number;
  readonly #log: RedisCacheStoreOptions['log'];
  readonly #write: Script;
  readonly #invalidate: Script;
  readonly #recoverCommand: Script;

  /** Reads and writes may go to Redis (connected, and recovered since the last trouble). */
  #usable = false;
  /** Something may be stale in Redis: recovery must start a new epoch. */
  #mustBump = false;
  #everReady = false;
  /** Invalidations that failed or could not be sent; recovery starts over if it grows meanwhile. */
  #failures = 0;
  #recovery: Promise<boolean> | undefined;
  #nextRecoveryAt = 0;
  #readsPausedUntil = 0;
  #shortTtlUntil = 0;
  #reportedDown = false;
  #closed = false;

  constructor(options: RedisCacheStoreOptions) {
    this.#prefix = options.prefix;
    this.#epochKey = `${options.prefix}epoch`;
    this.#runKey = `${options.prefix}run`;
    this.#seqKey = `${options.prefix}seq`;
    this.#staleBoundMs = options.staleBoundMs ?? 5000;
    this.#probationMs = options.probationMs ?? 30_000;
    this.#log = options.log;
    const maxDelay = options.maxReconnectDelayMs ?? 1000;
    this.#redis = new (loadRedis())(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 250,
      connectTimeout: Math.max(1000, options.commandTimeoutMs ?? 250),
      retryStrategy: (attempt) => Math.min(attempt * 100, maxDelay),
      // A cached read is one command per request: those of concurrent requests share one write.
      enableAutoPipelining: true,
    });
    // defineCommand sends each script once and then calls it by SHA (EVALSHA), reloading it if needed.
    this.#redis.defineCommand('armatureCacheWrite', { lua: writeScript });
    this.#redis.defineCommand('armatureCacheInvalidate', { lua: invalidateScript });
    this.#redis.defineCommand('armatureCacheRecover', { lua: recoverScript });
    const commands = this.#redis as unknown as Record<string, Script>;
    this.#write = commands.armatureCacheWrite.bind(this.#redis);
    this.#invalidate = commands.armatureCacheInvalidate.bind(this.#redis);
    this.#recoverCommand = commands.armatureCacheRecover.bind(this.#redis);

    // Failures surface in the calls that need Redis; the events only drive recovery.
    this.#redis.on('error', () => {});
    this.#redis.on('ready', () => {
      this.#everReady = true;
      void this.#recover();
    });
    this.#redis.on('close', () => {
      this.#usable = false;
      if (!this.#everReady || this.#closed) return;
      this.#mustBump = true;
      if (!this.#reportedDown) {
        this.#reportedDown = true;
        this.#log?.warn({}, 'cache: Redis connection lost; reading from the database until it is back');
      }
    });
  }

  async read(key: string, tags: readonly string[]): Promise<CacheEntry | CacheMiss> {
    if (!this.#serving()) return bypass;
    let epoch: string | null;
    let raw: string | null;
    try {
      [epoch, raw] = await this.#redis.mget(this.#epochKey, `${this.#prefix}e:${key}`);
    } catch (error) {
      this.#pauseReads();
      throw error;
    }
    if (raw !== null) {
      const entry = parseEntry(raw, epoch ?? '');
      if (entry !== undefined) return entry;
    }
    // A miss: take the generations now, before the loader reads the database.
    const names = namesOf(key, tags);
    const stampKeys = [this.#epochKey];
    for (const name of names) stampKeys.push(`${this.#prefix}g:${name}`);
    try {
      const token: WriteToken = { stamps: await this.#redis.mget(stampKeys), at: Date.now() };
      return { hit: false, token };
    } catch (error) {
      this.#pauseReads();
      throw error;
    }
  }

  async write(
    key: string,
    value: string,
    etag: string,
    options: CacheSetOptions,
    token?: unknown,
  ): Promise<void> {
    if (!this.#serving()) return;
    const checked = token as WriteToken | undefined;
    if (checked !== undefined && Date.now() - checked.at > GENERATION_TTL_MS / 2) return;
    const ttl = Date.now() < this.#shortTtlUntil ? Math.min(options.ttl, this.#staleBoundMs) : options.ttl;
    const names = namesOf(key, options.tags ?? []);
    const keys = [this.#epochKey, `${this.#prefix}e:${key}`];
    const args: (string | number)[] = [
      checked ? 'check' : 'force',
      checked?.stamps[0] ?? '',
      Math.max(1, Math.round(ttl)),
      `${etag}\n${value}`,
      checked ? names.length : 0,
    ];
    if (checked) {
      for (let i = 0; i < names.length; i++) {
        keys.push(`${this.#prefix}g:${names[i]}`);
        args.push(checked.stamps[i + 1] ?? '');
      }
    }
    for (let i = 1; i < names.length; i++) keys.push(`${this.#prefix}t:${names[i]}`);
    try {
      await this.#write(keys.length, ...keys, ...args);
    } catch (error) {
      this.#pauseReads();
      throw error;
    }
  }

  async invalidate(names: readonly string[]): Promise<void> {
    if (this.#redis.status !== 'ready') {
      this.#lostInvalidation();
      throw new Error(`Redis is ${this.#redis.status}: a new epoch will replace this invalidation`);
    }
    const keys = [this.#seqKey];
    for (const name of names) {
      keys.push(`${this.#prefix}e:${name}`, `${this.#prefix}t:${name}`, `${this.#prefix}g:${name}`);
    }
    try {
      await this.#invalidate(keys.length, ...keys, GENERATION_TTL_MS);
    } catch (error) {
      // It may or may not have run: treat it as lost.
      this.#lostInvalidation();
      throw error;
    }
  }

  async ping(): Promise<void> {
    if (this.#redis.status !== 'ready') throw new Error(`Redis is ${this.#redis.status}`);
    if (!this.#usable && !(await this.#recover())) {
      throw new Error('Redis answers but the cache has not recovered from the outage yet');
    }
    await this.#redis.ping();
  }

  async connect(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#usable && Date.now() < deadline) {
      if (this.#redis.status === 'ready' && (await this.#recover())) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.#usable;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#usable = false;
    await this.#redis.quit().catch(() => this.#redis.disconnect());
  }

  #serving(): boolean {
    if (this.#usable) {
      if (this.#readsPausedUntil === 0) return true;
      if (Date.now() >= this.#readsPausedUntil) {
        this.#readsPausedUntil = 0;
        return true;
      }
      return false;
    }
    if (
      this.#recovery === undefined &&
      this.#redis.status === 'ready' &&
      Date.now() >= this.#nextRecoveryAt
    ) {
      void this.#recover();
    }
    return false;
  }

  #pauseReads(): void {
    this.#readsPausedUntil = Date.now() + READ_PAUSE_MS;
  }

  #lostInvalidation(): void {
    this.#failures++;
    this.#mustBump = true;
    this.#usable = false;
  }

  /** Makes Redis usable again: a new epoch if anything may be stale. Never rejects. */
  #recover(): Promise<boolean> {
    this.#recovery ??= this.#runRecovery().finally(() => {
      this.#recovery = undefined;
    });
    return this.#recovery;
  }

  async #runRecovery(): Promise<boolean> {
    // An invalidation that fails while this runs may predate the new epoch: start over (a few times).
    for (let attempt = 0; attempt < 3; attempt++) {
      const failures = this.#failures;
      const bump = this.#mustBump;
      try {
        const runId = await this.#serverRunId();
        await this.#recoverCommand(3, this.#epochKey, this.#runKey, this.#seqKey, runId, bump ? '1' : '0');
      } catch {
        this.#nextRecoveryAt = Date.now() + RECOVERY_RETRY_MS;
        return false;
      }
      if (this.#failures !== failures) continue;
      if (this.#redis.status !== 'ready') return false;
      this.#mustBump = false;
      this.#usable = true;
      this.#readsPausedUntil = 0;
      if (bump) this.#shortTtlUntil = Date.now() + this.#probationMs;
      if (this.#reportedDown) {
        this.#reportedDown = false;
        this.#log?.info({}, 'cache: Redis is back; entries from before the outage are discarded');
      }
      return true;
    }
    this.#nextRecoveryAt = Date.now() + RECOVERY_RETRY_MS;
    return false;
  }

  /** The server's `run_id` (it changes when Redis restarts); empty when INFO is not allowed. */
  async #serverRunId(): Promise<string> {
    try {
      const info = await this.#redis.info('server');
      return /run_id:(\w+)/.exec(info)?.[1] ?? '';
    } catch (error) {
      if (error instanceof Error && error.message.includes('NOPERM')) return '';
      throw error;
    }
  }
}

/** The key first, then its tags (without the key again): the names whose invalidation drops it. */
function namesOf(key: string, tags: readonly string[]): string[] {
  const names = [key];
  for (const tag of tags) if (tag !== key && !names.includes(tag)) names.push(tag);
  return names;
}

/** `{epoch}\n{etag}\n{value}` → the entry, or undefined when it belongs to another epoch. */
function parseEntry(raw: string, epoch: string): CacheEntry | undefined {
  const end = epoch.length;
  if (raw.charCodeAt(end) !== 10 || !raw.startsWith(epoch)) return undefined;
  const cut = raw.indexOf('\n', end + 1);
  if (cut < 0) return undefined;
  return { value: raw.slice(cut + 1), etag: raw.slice(end + 1, cut), hit: true };
}
