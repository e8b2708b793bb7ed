import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { signatureHeader, signWebhook } from '../provider/webhook-signature.ts';

/**
 * A payment provider simulator that behaves like a card processor, for development, tests and the
 * embedded mode: Stripe-like payment intents with manual capture, test payment methods with fixed
 * outcomes, idempotency keys on every call, and asynchronous outcomes delivered by signed webhook.
 *
 * - `pm_card_visa`: authorized at once.
 * - `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`: declined (402).
 * - `pm_card_authenticationRequired`: `requires_action`; the customer "confirms" after
 *   `confirmDelayMs`, and a `payment_intent.amount_capturable_updated` webhook says so.
 * - `pm_card_providerTimeout`: authorized, but the answer is held for `slowMs` (the caller times out
 *   and must retry with the same key to learn the outcome).
 * - anything else: declined.
 */
export interface SimulatorOptions {
  webhookSecret: string;
  /** Where webhooks go; a function when the address is known only later (embedded). */
  webhookUrl: string | (() => string | undefined);
  confirmDelayMs?: number;
  slowMs?: number;
  log?: boolean;
}

export interface Intent {
  id: string;
  reference: string;
  amount: number;
  currency: string;
  method: string;
  status: 'requires_action' | 'requires_capture' | 'succeeded' | 'canceled' | 'failed';
  amountCaptured: number;
  amountRefunded: number;
  /** How many times a call (not a replay) authorized, captured or refunded it: never more than one each. */
  authorizations: number;
  captures: number;
  refunds: number;
}

export interface Simulator {
  app: FastifyInstance;
  intents: Map<string, Intent>;
  url: string;
  close(): Promise<void>;
}

type Stored = { status: number; body: unknown };

export async function startSimulator(
  options: SimulatorOptions,
  listen: { host: string; port: number } = { host: '127.0.0.1', port: 0 },
): Promise<Simulator> {
  const app = Fastify({ logger: options.log ?? false });
  const intents = new Map<string, Intent>();
  // The first answer under each key (a promise, so concurrent retries share one call).
  const answers = new Map<string, Promise<Stored>>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  const confirmDelayMs = options.confirmDelayMs ?? 1000;
  const slowMs = options.slowMs ?? 5000;

  const idempotent = (key: string | undefined, work: () => Stored | Promise<Stored>): Promise<Stored> => {
    if (!key) return Promise.resolve({ status: 400, body: { error: { code: 'idempotency_key_required' } } });
    let answer = answers.get(key);
    if (!answer) {
      answer = Promise.resolve(work());
      answers.set(key, answer);
    }
    return answer;
  };
  const view = (intent: Intent) => ({
    id: intent.id,
    status: intent.status,
    amount: intent.amount,
    currency: intent.currency,
    amount_received: intent.amountCaptured,
    amount_refunded: intent.amountRefunded,
    metadata: { reference: intent.reference },
  });

  const deliver = async (type: string, intent: Intent, attempt = 0): Promise<void> => {
    const target = typeof options.webhookUrl === 'function' ? options.webhookUrl() : options.webhookUrl;
    const body = JSON.stringify({
      id: `evt_sim_${randomBytes(12).toString('hex')}`,
      type,
      created: Math.floor(Date.now() / 1000),
      data: { object: { id: intent.id, status: intent.status, lastError: null } },
    });
    let delivered = false;
    if (target) {
      try {
        const response = await fetch(target, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            [signatureHeader]: signWebhook(body, options.webhookSecret),
          },
          body,
          signal: AbortSignal.timeout(5000),
        });
        // 2xx, or 409 (already received): done; anything else is retried, as a provider does.
        delivered = response.ok || response.status === 409;
      } catch {
        delivered = false;
      }
    }
    if (!delivered && attempt < 30)
      later(Math.min(5000, 200 * 2 ** attempt), () => void deliver(type, intent, attempt + 1));
  };

  app.post<{ Body: { amount: number; currency: string; payment_method: string; reference: string } }>(
    '/v1/payment_intents',
    async (request, reply) => {
      const key = request.headers['idempotency-key'] as string | undefined;
      let held = false;
      const answer = await idempotent(key, () => {
        const { amount, currency, payment_method: method, reference } = request.body;
        const intent: Intent = {
          id: `pi_${randomBytes(12).toString('hex')}`,
          reference,
          amount,
          currency,
          method,
          status: 'requires_capture',
          amountCaptured: 0,
          amountRefunded: 0,
          authorizations: 0,
          captures: 0,
          refunds: 0,
        };
        intents.set(intent.id, intent);
        if (method === 'pm_card_visa' || method === 'pm_card_providerTimeout') {
          intent.authorizations += 1;
          held = method === 'pm_card_providerTimeout';
          return { status: 200, body: view(intent) };
        }
        if (method === 'pm_card_authenticationRequired') {
          intent.status = 'requires_action';
          later(confirmDelayMs, () => {
            if (intent.status !== 'requires_action') return;
            intent.status = 'requires_capture';
            intent.authorizations += 1;
            void deliver('payment_intent.amount_capturable_updated', intent);
          });
          return { status: 200, body: view(intent) };
        }
        intent.status = 'failed';
        const declineCode =
          method === 'pm_card_chargeDeclinedInsufficientFunds' ? 'insufficient_funds' : 'generic_decline';
        return {
          status: 402,
          body: { ...view(intent), error: { code: 'card_declined', decline_code: declineCode } },
        };
      });
      // The first answer of a slow method is held back: the caller gives up before it comes.
      if (held) await new Promise((resolve) => later(slowMs, () => resolve(undefined)));
      return reply.code(answer.status).send(answer.body);
    },
  );

  const onIntent = (path: string, act: (intent: Intent, body: Record<string, unknown>) => Stored) =>
    app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(path, async (request, reply) => {
      const answer = await idempotent(request.headers['idempotency-key'] as string | undefined, () => {
        const intent = intents.get(request.params.id ?? (request.body.payment_intent as string));
        if (!intent) return { status: 404, body: { error: { code: 'resource_missing' } } };
        return act(intent, request.body ?? {});
      });
      return reply.code(answer.status).send(answer.body);
    });

  onIntent('/v1/payment_intents/:id/capture', (intent) => {
    if (intent.status !== 'requires_capture')
      return { status: 400, body: { error: { code: 'payment_intent_unexpected_state' } } };
    intent.status = 'succeeded';
    intent.amountCaptured = intent.amount;
    intent.captures += 1;
    return { status: 200, body: view(intent) };
  });
  onIntent('/v1/payment_intents/:id/cancel', (intent) => {
    if (intent.status !== 'requires_capture' && intent.status !== 'requires_action') {
      return { status: 400, body: { error: { code: 'payment_intent_unexpected_state' } } };
    }
    intent.status = 'canceled';
    return { status: 200, body: view(intent) };
  });
  app.post<{ Body: { payment_intent: string; amount: number } }>('/v1/refunds', async (request, reply) => {
    const answer = await idempotent(request.headers['idempotency-key'] as string | undefined, () => {
      const intent = intents.get(request.body.payment_intent);
      if (!intent) return { status: 404, body: { error: { code: 'resource_missing' } } };
      const amount = request.body.amount;
      if (intent.status !== 'succeeded' || amount > intent.amountCaptured - intent.amountRefunded) {
        return { status: 400, body: { error: { code: 'charge_already_refunded' } } };
      }
      intent.amountRefunded += amount;
      intent.refunds += 1;
      return {
        status: 200,
        body: { id: `re_${randomBytes(12).toString('hex')}`, amount, payment_intent: intent.id },
      };
    });
    return reply.code(answer.status).send(answer.body);
  });
  app.get<{ Params: { id: string } }>('/v1/payment_intents/:id', async (request, reply) => {
    const intent = intents.get(request.params.id);
    return intent ? view(intent) : reply.code(404).send({ error: { code: 'resource_missing' } });
  });
  /** Every intent with its counters: what tests and the chaos run check "charged once" against. */
  app.get('/v1/_intents', async () => [...intents.values()]);
  app.get('/health/ready', async () => ({ status: 'healthy' }));
  app.get('/health/live', async () => ({ status: 'healthy' }));

  await app.listen(listen);
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  return {
    app,
    intents,
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await app.close();
    },
  };
}
