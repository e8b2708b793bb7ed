import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from 'jose';
import type { UpstreamService } from './upstreams.ts';

export interface JwksOptions {
  cooldownMs: number;
  maxAgeMs: number;
}

/**
 * The users service's signing keys, fetched from `/.well-known/jwks.json` by jose, which caches them
 * and refetches on an unknown `kid` no more often than the cooldown. The fetch tries the instances
 * the balancer would pick first, then any other, so one instance down does not stop verification.
 */
export function usersJwks(users: UpstreamService, options: JwksOptions): JWTVerifyGetKey {
  const path = '/.well-known/jwks.json';
  return createRemoteJWKSet(new URL(path, users.instances[0].url), {
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
          if (response.ok) return response;
          lastError = new Error(`${instance.name} answered ${response.status}`);
          await response.body?.cancel();
        } catch (error) {
          lastError = error;
        }
      }
      throw lastError;
    },
  });
}
