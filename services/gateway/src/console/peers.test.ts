import type { StartedService } from '@armature/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readGatewayConfig } from '../config.ts';
import { type FakeUpstream, startFakeUpstream } from '../testing/fake-upstream.ts';
import { call, deadUrl, startTestGateway, upstreamVariables } from '../testing/gateway.ts';
import { createSigningKey, type SigningKey, signToken } from '../testing/tokens.ts';

/** The deployment's other gateways, as one gateway's traffic snapshot reports them for the map. */

let key: SigningKey;
let users: FakeUpstream;
let peer: StartedService;
let gateway: StartedService;
let gone: string;

beforeAll(async () => {
  key = await createSigningKey();
  users = await startFakeUpstream({ name: 'users', keys: [key.jwk] });
  peer = await startTestGateway({ users: [users.url] });
  gone = await deadUrl();
  gateway = await startTestGateway({ users: [users.url] }, { GATEWAY_PEER_URLS: `${peer.url}, ${gone}` });
});

afterAll(async () => {
  await Promise.all([gateway?.close(), peer?.close()]);
  await users?.close();
});

describe('peer gateways', () => {
  it('are probed for readiness with each traffic snapshot: up, or down when nothing answers', async () => {
    const admin = await signToken(key, { roles: ['member', 'admin'] });
    const reply = await call(gateway.url, '/v1/traffic', { headers: { authorization: `Bearer ${admin}` } });
    expect(reply.status).toBe(200);
    expect(reply.body.gateways).toEqual([
      { url: new URL(peer.url).href, status: 'up', latency: expect.any(Number) },
      { url: new URL(gone).href, status: 'down', latency: expect.any(Number) },
    ]);
    // A gateway without peers reports none.
    const alone = await call(peer.url, '/v1/traffic', { headers: { authorization: `Bearer ${admin}` } });
    expect(alone.body.gateways).toEqual([]);
  });

  it('must be http(s) URLs', () => {
    expect(() => readGatewayConfig({ ...upstreamVariables(), GATEWAY_PEER_URLS: 'gateway-2:8080' })).toThrow(
      /GATEWAY_PEER_URLS/,
    );
  });
});
