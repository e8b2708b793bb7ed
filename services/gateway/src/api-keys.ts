import { createHash } from 'node:crypto';
import { ApiError } from '@armature/platform';
import { growingLru } from '@armature/platform/lru';
import type { LRUCache } from 'lru-cache';
import type { UpstreamService } from './upstreams.ts';

/** What a key was exchanged for: a short access token carrying its user, and the key's scopes. */
export interface ExchangedKey {
  accessToken: string;
  keyId: string;
  scopes: ReadonlySet<string>;
  plan: string;
}

export interface ApiKeyExchangeOptions {
  /** How many keys are remembered (least recently used go first). */
  size: number;
  /**
   * How long a key is remembered: the bound on how late a revocation, an expiry or the deletion of
   * its user is seen by this gateway. One second by default.
   */
  ttlMs: number;
}

/** Whether a credential is an API key (`ak_…`) rather than an access token. */
export function isApiKey(credential: string): boolean {
  return credential.startsWith('ak_');
}

/**
 * API keys, validated by the users service (which owns them) and remembered here for at most
 * `ttlMs`: a client sending its key on every request costs the users service one exchange per key
 * per `ttlMs`, never one per request, and a revoked key is refused by every gateway within `ttlMs`.
 * Keys are remembered by their SHA-256, so the cache holds no secret; refusals are remembered too
 * (a bad key retried in a loop does not reach the users service each time).
 */
export class ApiKeyExchange {
  readonly #cache: LRUCache<string, Promise<ExchangedKey>>;
  /** The same exchanges once settled, so that a known key is answered without waiting on a promise. */
  readonly #settled: LRUCache<string, ExchangedKey>;
  readonly #users: UpstreamService;

  constructor(users: UpstreamService, options: ApiKeyExchangeOptions) {
    this.#users = users;
    const max = Math.max(1, options.size);
    const ttl = Math.max(1, options.ttlMs);
    this.#cache = growingLru(max, { ttl });
    this.#settled = growingLru(max, { ttl });
  }

  /**
   * What a key was exchanged for, when that is known and fresh: no promise, no waiting, no hash
   * (this map is keyed by the secret itself, as the verified-token cache is by the token: both only
   * live in this process's memory, where the request that carries them already is).
   */
  known(key: string): ExchangedKey | undefined {
    return this.#settled.get(key);
  }

  exchange(key: string): Promise<ExchangedKey> {
    const hash = digest(key);
    let pending = this.#cache.get(hash);
    if (pending === undefined) {
      pending = this.#fetch(key);
      this.#cache.set(hash, pending);
      pending.then(
        // Remembered no longer than the promise: both expire `ttlMs` after the exchange began.
        (exchanged) => {
          const ttl = this.#cache.getRemainingTTL(hash);
          if (ttl > 0) this.#settled.set(key, exchanged, { ttl });
        },
        // A failure of the users service itself is not remembered: the next request tries again.
        (error: unknown) => {
          if (!(error instanceof ApiError && error.status === 401)) this.#cache.delete(hash);
        },
      );
    }
    return pending;
  }

  async #fetch(key: string): Promise<ExchangedKey> {
    const instance = this.#users.pick();
    if (!instance) throw new ApiError('SERVICE_UNAVAILABLE');
    const response = await fetch(`${instance.url}/v1/auth/api-keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key }),
      signal: AbortSignal.timeout(2000),
    }).catch(() => {
      throw new ApiError('SERVICE_UNAVAILABLE');
    });
    if (response.status === 401 || response.status === 400) {
      await response.body?.cancel();
      throw new ApiError('INVALID_API_KEY', {
        headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
      });
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new ApiError('SERVICE_UNAVAILABLE');
    }
    const body = (await response.json()) as {
      accessToken: string;
      keyId: string;
      scopes: string[];
      plan: string;
    };
    return {
      accessToken: body.accessToken,
      keyId: body.keyId,
      scopes: new Set(body.scopes),
      plan: body.plan,
    };
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('base64url');
}
