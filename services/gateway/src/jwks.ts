import { createRemoteJWKSet, customFetch, type RemoteJWKSet } from 'jose';
import type { UpstreamService } from './upstreams.ts';

export interface JwksOptions {
  cooldownMs: number;
  maxAgeMs: number;
}

export interface UsersKeys {
  /** The key getter for token verification. */
  getKey: RemoteJWKSet;
  /**
   * Whether a key id was in the key set last fetched, without waiting: what a remembered token is
   * checked against. When that fetch is older than `maxAgeMs`, a new one starts in the background.
   */
  isPublished(kid: string | undefined): boolean;
}

/**
 * The users service's signing keys, fetched from `/.well-known/jwks.json` by jose, which caches them
 * and refetches on an unknown `kid` no more often than the cooldown. The fetch tries the instances
 * the balancer would pick first, then any other, so one instance down does not stop verification.
 */
export function usersJwks(users: UpstreamService, options: JwksOptions): UsersKeys {
  const path = '/.well-known/jwks.json';
  let published = new Set<string>();
  let fetchedAt = 0;
  const getKey = createRemoteJWKSet(new URL(path, users.instances[0].url), {
    cooldownDuration: options.cooldownMs,
    cacheMaxAge: options.maxAgeMs,
    timeoutDuration: 2000,
    [customFetch]: async (_url, init) => {
      const first = users.pick();
      const order = first
        ? [first, ...users.instances.filter((instance) => instance !== first)]
        : users.instances;
      let lastError: unknown;
      for (const instance of order) {
        try {
          const response = await fetch(`${instance.url}${path}`, init);
          if (!response.ok) {
            lastError = new Error(`${instance.name} answered ${response.status}`);
            await response.body?.cancel();
            continue;
          }
          const text = await response.text();
          const keys = (JSON.parse(text) as { keys?: Array<{ kid?: unknown }> }).keys ?? [];
          published = new Set(
            keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === 'string'),
          );
          fetchedAt = Date.now();
          return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
  });
  return {
    getKey,
    isPublished(kid) {
      if (Date.now() - fetchedAt > options.maxAgeMs && !getKey.reloading) getKey.reload().catch(() => {});
      return kid !== undefined && published.has(kid);
    },
  };
}
