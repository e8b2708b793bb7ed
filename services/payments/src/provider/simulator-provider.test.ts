import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../packages/platform/src/events/test-support.ts';
import { type Simulator, startSimulator } from '../simulator/simulator.ts';
import { ProviderUnavailableError } from './port.ts';
import { SimulatorProvider } from './simulator-provider.ts';
import { signatureHeader, signWebhook, verifyWebhook } from './webhook-signature.ts';

/**
 * The provider port's built-in adapter against the simulator over HTTP: each test payment method's
 * outcome, idempotency keys on every call (a retried call never charges twice), authorize, capture,
 * void and refund, and the signed webhook of an asynchronous confirmation.
 */
const secret = 'provider-test-secret';
const webhooks: Array<{ body: string; signature: string | undefined }> = [];
let simulator: Simulator;
let receiver: ReturnType<typeof createServer>;
let provider: SimulatorProvider;

const text = async (request: IncomingMessage) => {
  let body = '';
  for await (const chunk of request) body += chunk;
  return body;
};

beforeAll(async () => {
  receiver = createServer(async (request, response) => {
    webhooks.push({ body: await text(request), signature: request.headers[signatureHeader] as string });
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const address = receiver.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  simulator = await startSimulator({
    webhookSecret: secret,
    webhookUrl: `http://127.0.0.1:${port}/webhook`,
    confirmDelayMs: 100,
    slowMs: 1500,
  });
  provider = new SimulatorProvider({ url: simulator.url, timeoutMs: 500 });
});
afterAll(async () => {
  await simulator?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

const authorize = (paymentMethod: string, idempotencyKey = randomUUID()) =>
  provider.authorize({ idempotencyKey, amount: 1999, currency: 'EUR', paymentMethod, reference: 'pay_test' });

describe('the provider simulator through the provider port', () => {
  it('pm_card_visa authorizes; capture, a refund, and each call repeated with its key, charge once', async () => {
    const key = randomUUID();
    const first = await authorize('pm_card_visa', key);
    expect(first.status).toBe('authorized');
    expect(await authorize('pm_card_visa', key)).toEqual(first);
    const id = first.providerPaymentId!;
    await provider.capture({ idempotencyKey: `capture:${key}`, providerPaymentId: id });
    await provider.capture({ idempotencyKey: `capture:${key}`, providerPaymentId: id });
    const refund = await provider.refund({
      idempotencyKey: `refund:${key}`,
      providerPaymentId: id,
      amount: 1999,
    });
    expect(
      await provider.refund({ idempotencyKey: `refund:${key}`, providerPaymentId: id, amount: 1999 }),
    ).toEqual(refund);
    expect(simulator.intents.get(id)).toMatchObject({
      authorizations: 1,
      captures: 1,
      refunds: 1,
      amountCaptured: 1999,
      amountRefunded: 1999,
    });
  });

  it.each([
    ['pm_card_chargeDeclined', 'card_declined'],
    ['pm_card_chargeDeclinedInsufficientFunds', 'insufficient_funds'],
  ])('%s is declined (%s)', async (method, reason) => {
    expect(await authorize(method)).toMatchObject({ status: 'declined', reason });
  });

  it('void releases an authorization: it can no longer be captured', async () => {
    const { providerPaymentId } = await authorize('pm_card_visa');
    await provider.void({ idempotencyKey: randomUUID(), providerPaymentId: providerPaymentId! });
    await expect(
      provider.capture({ idempotencyKey: randomUUID(), providerPaymentId: providerPaymentId! }),
    ).rejects.toBeInstanceOf(ProviderUnavailableError);
    expect(simulator.intents.get(providerPaymentId!)).toMatchObject({ status: 'canceled', captures: 0 });
  });

  it('pm_card_providerTimeout: the call times out; its replay with the same key learns the one authorization', async () => {
    const key = randomUUID();
    await expect(authorize('pm_card_providerTimeout', key)).rejects.toBeInstanceOf(ProviderUnavailableError);
    const replay = await eventually('the replay answered', async () =>
      authorize('pm_card_providerTimeout', key).catch(() => undefined),
    );
    expect(replay.status).toBe('authorized');
    expect(simulator.intents.get(replay.providerPaymentId!)).toMatchObject({ authorizations: 1 });
    expect(
      [...simulator.intents.values()].filter((intent) => intent.method === 'pm_card_providerTimeout'),
    ).toHaveLength(1);
  });

  it('pm_card_authenticationRequired: requires action, then a signed webhook says it is authorized', async () => {
    const outcome = await authorize('pm_card_authenticationRequired');
    expect(outcome.status).toBe('requires_action');
    const webhook = await eventually('the confirmation webhook', () =>
      webhooks.find((hook) => hook.body.includes(outcome.providerPaymentId!)),
    );
    expect(verifyWebhook(webhook.body, webhook.signature, secret, 300)).toBe('valid');
    expect(JSON.parse(webhook.body)).toMatchObject({
      type: 'payment_intent.amount_capturable_updated',
      data: { object: { id: outcome.providerPaymentId, status: 'requires_capture' } },
    });
  });
});

describe('webhook signatures', () => {
  const body = '{"id":"evt_1","type":"payment_intent.amount_capturable_updated"}';
  const now = Date.now();

  it('accepts a signature over this body, with this secret, within the tolerance', () => {
    expect(verifyWebhook(body, signWebhook(body, secret, now - 60_000), secret, 300, now)).toBe('valid');
  });

  it('refuses another secret, another body, a missing or malformed header, and an old timestamp', () => {
    expect(verifyWebhook(body, signWebhook(body, 'other secret', now), secret, 300, now)).toBe('invalid');
    expect(verifyWebhook(`${body} `, signWebhook(body, secret, now), secret, 300, now)).toBe('invalid');
    expect(verifyWebhook(body, undefined, secret, 300, now)).toBe('missing');
    expect(verifyWebhook(body, 't=abc,v1=zz', secret, 300, now)).toBe('invalid');
    expect(verifyWebhook(body, signWebhook(body, secret, now - 301_000), secret, 300, now)).toBe('expired');
  });

  it('binds the timestamp: a valid signature moved to a fresh timestamp is refused', () => {
    const old = signWebhook(body, secret, now - 3_600_000);
    const v1 = old.split(',')[1];
    expect(verifyWebhook(body, `t=${Math.floor(now / 1000)},${v1}`, secret, 300, now)).toBe('invalid');
  });
});
