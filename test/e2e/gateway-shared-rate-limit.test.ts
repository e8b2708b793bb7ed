import { randomUUID } from 'node:crypto';
import { type FakeUpstream, startFakeUpstream } from '@armature/gateway/testing/fake-upstream';
import { upstreamVariables } from '@armature/gateway/testing/gateway';
import { gatewayMain, type RunningProcess, startProcess } from '@armature/gateway/testing/processes';
import { createSigningKey, type SigningKey, signToken } from '@armature/gateway/testing/tokens';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// One budget across gateway processes needs the real shared store, in every run.
const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let key: SigningKey;
let upstream: FakeUpstream;
let gateways: RunningProcess[] = [];

beforeAll(async () => {
  key = await createSigningKey();
  upstream = await startFakeUpstream({ name: 'service', keys: [key.jwk] });
  const env = {
    // Every service of the catalog at the one fake upstream.
    ...upstreamVariables({ users: [upstream.url] }),
    LOG_LEVEL: 'info',
    REDIS_URL: redisUrl,
    RATE_LIMIT_KEY_PREFIX: `test:shared:${randomUUID()}:`,
    RATE_LIMIT_MAX_REQUESTS: '10',
    RATE_LIMIT_WINDOW_MS: '60000',
  };
  gateways = await Promise.all([startProcess(gatewayMain, env), startProcess(gatewayMain, env)]);
});

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop()));
  await upstream?.close();
});

describe('two gateway processes sharing Redis', () => {
  it('enforce one combined limit for one user, counting down across both', async () => {
    const authorization = `Bearer ${await signToken(key)}`;
    const seen: Array<{ gateway: number; status: number; remaining: string | null }> = [];
    for (let i = 0; i < 10; i++) {
      const gateway = i % 2;
      const response = await fetch(`${gateways[gateway].url}/v1/users/me`, { headers: { authorization } });
      await response.arrayBuffer();
      seen.push({
        gateway,
        status: response.status,
        remaining: response.headers.get('x-ratelimit-remaining'),
      });
      expect(response.headers.get('x-ratelimit-limit')).toBe('10');
    }
    expect(seen.map((entry) => entry.status)).toEqual(Array(10).fill(200));
    expect(seen.map((entry) => entry.remaining)).toEqual(['9', '8', '7', '6', '5', '4', '3', '2', '1', '0']);

    // The budget is spent, whichever gateway is asked.
    for (const gateway of gateways) {
      const response = await fetch(`${gateway.url}/v1/users/me`, { headers: { authorization } });
      const body = (await response.json()) as { error: { code: string } };
      expect(response.status).toBe(429);
      expect(body.error.code).toBe('RATE_LIMITED');
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(response.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    }
  });

  it('give another user a full budget of their own', async () => {
    const response = await fetch(`${gateways[1].url}/v1/users/me`, {
      headers: { authorization: `Bearer ${await signToken(key)}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-remaining')).toBe('9');
  });
});
