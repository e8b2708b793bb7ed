import { growingLru } from '@armature/platform/lru';
import type { Redis } from 'ioredis';

/** Counts by status class: 2xx, 3xx, 4xx, 5xx. */
export type ClassCounts = [number, number, number, number];

/** A user's requests of one day, by API key id (`''` for requests made with a token). */
export type DayUsage = Map<string, ClassCounts>;

/**
 * Requests per user, day and API key, by status class. `record` is called on every response and
 * never waits; `read` answers what is known for each of the days asked.
 */
export interface UsageStore {
  record(userId: string, keyId: string, day: string, statusClass: number): void;
  read(userId: string, days: readonly string[]): Promise<Map<string, DayUsage>>;
  close(): Promise<void>;
}

/** The index in `ClassCounts` of a status: 1xx counts as 2xx, anything above 5xx as 5xx. */
export function classIndex(status: number): number {
  return Math.min(3, Math.max(0, Math.floor(status / 100) - 2));
}

function add(usage: DayUsage, keyId: string, index: number, amount: number): void {
  let counts = usage.get(keyId);
  if (!counts) {
    counts = [0, 0, 0, 0];
    usage.set(keyId, counts);
  }
  counts[index] += amount;
}

/** The counts of one user-day (`<user>|<day>`) in `days`, made empty when missing. */
function userDay(
  days: { get(id: string): DayUsage | undefined; set(id: string, usage: DayUsage): unknown },
  id: string,
): DayUsage {
  let usage = days.get(id);
  if (!usage) {
    usage = new Map();
    days.set(id, usage);
  }
  return usage;
}

function addCounts(usage: DayUsage, keyId: string, counts: ClassCounts): void {
  for (let index = 0; index < counts.length; index++) {
    if (counts[index]! > 0) add(usage, keyId, index, counts[index]!);
  }
}

/** Usage in this process (embedded mode, or one gateway without Redis). */
export class MemoryUsage implements UsageStore {
  // Bounded: a user-day dropped here (the least recently used) loses its counts, never the server.
  readonly #days = growingLru<string, DayUsage>(200_000);

  record(userId: string, keyId: string, day: string, statusClass: number): void {
    add(userDay(this.#days, `${userId}|${day}`), keyId, statusClass, 1);
  }

  async read(userId: string, days: readonly string[]): Promise<Map<string, DayUsage>> {
    const result = new Map<string, DayUsage>();
    for (const day of days) {
      const usage = this.#days.peek(`${userId}|${day}`);
      if (usage) result.set(day, new Map([...usage].map(([key, counts]) => [key, [...counts]])));
    }
    return result;
  }

  async close(): Promise<void> {
    this.#days.clear();
  }
}

export interface RedisUsageOptions {
  /** How often counts go to Redis (one pipeline for all), in ms. */
  flushMs: number;
  /** How long a day's counts are kept. */
  retentionDays: number;
}

/**
 * Usage shared by every gateway on one Redis: a hash per user and day (`usage:<user>:<day>`), one
 * field per API key and status class. Counts are added up in this process and sent once per
 * `flushMs` as one pipeline of `HINCRBY`s, so a request costs no Redis round trip; what a gateway
 * has not sent yet is added to what it reads, and other gateways' counts of the last `flushMs` may
 * be missing from an answer. While Redis is unreachable the counts wait here and go with the next
 * flush that succeeds.
 */
export class RedisUsage implements UsageStore {
  readonly #redis: Redis;
  readonly #options: RedisUsageOptions;
  #pending = new Map<string, DayUsage>();
  readonly #timer: NodeJS.Timeout;
  #flushing: Promise<void> | undefined;

  constructor(redis: Redis, options: RedisUsageOptions) {
    this.#redis = redis;
    this.#options = options;
    this.#timer = setInterval(() => void this.flush(), options.flushMs);
    this.#timer.unref();
  }

  record(userId: string, keyId: string, day: string, statusClass: number): void {
    add(userDay(this.#pending, `${userId}|${day}`), keyId, statusClass, 1);
  }

  /** Sends the counts gathered since the last flush; on failure they wait for the next one. */
  flush(): Promise<void> {
    if (this.#flushing || this.#pending.size === 0) return this.#flushing ?? Promise.resolve();
    const sending = this.#pending;
    this.#pending = new Map();
    const ttlSeconds = (this.#options.retentionDays + 1) * 86_400;
    const pipeline = this.#redis.pipeline();
    for (const [id, usage] of sending) {
      const key = redisKey(id);
      for (const [keyId, counts] of usage) {
        counts.forEach((count, index) => {
          if (count > 0) pipeline.hincrby(key, field(keyId, index), count);
        });
      }
      pipeline.expire(key, ttlSeconds);
    }
    this.#flushing = pipeline
      .exec()
      .then((results) => {
        if (results?.some(([error]) => error)) throw new Error('usage counts not stored');
      })
      .catch(() => this.#restore(sending))
      .finally(() => {
        this.#flushing = undefined;
      });
    return this.#flushing;
  }

  #restore(unsent: Map<string, DayUsage>): void {
    for (const [id, usage] of unsent) {
      const pending = userDay(this.#pending, id);
      for (const [keyId, counts] of usage) addCounts(pending, keyId, counts);
    }
  }

  async read(userId: string, days: readonly string[]): Promise<Map<string, DayUsage>> {
    const pipeline = this.#redis.pipeline();
    for (const day of days) pipeline.hgetall(redisKey(`${userId}|${day}`));
    const replies = (await pipeline.exec()) ?? [];
    const result = new Map<string, DayUsage>();
    days.forEach((day, i) => {
      const [error, hash] = replies[i] ?? [];
      if (error) throw error;
      const usage: DayUsage = new Map();
      for (const [name, value] of Object.entries((hash ?? {}) as Record<string, string>)) {
        const separator = name.lastIndexOf(':');
        const keyId = name.slice(0, separator);
        add(usage, keyId === '-' ? '' : keyId, Number(name.slice(separator + 1)), Number(value));
      }
      const mine = this.#pending.get(`${userId}|${day}`);
      for (const [keyId, counts] of mine ?? []) addCounts(usage, keyId, counts);
      if (usage.size > 0) result.set(day, usage);
    });
    return result;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }
}

function redisKey(id: string): string {
  const [userId, day] = id.split('|');
  return `usage:${userId}:${day}`;
}

function field(keyId: string, index: number): string {
  return `${keyId || '-'}:${index}`;
}
