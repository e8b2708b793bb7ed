import {
  type AuthorizeOutcome,
  type AuthorizeRequest,
  type DeclineReason,
  type PaymentProvider,
  ProviderUnavailableError,
} from './port.ts';

/**
 * The provider port over HTTP, against the provider simulator's Stripe-like API: payment intents
 * with manual capture, cancel (void) and refunds, every call with an `Idempotency-Key`. A call that
 * takes longer than `timeoutMs`, or cannot connect, is a `ProviderUnavailableError`.
 */
export class SimulatorProvider implements PaymentProvider {
  readonly #url: string;
  readonly #timeoutMs: number;

  constructor(options: { url: string; timeoutMs: number }) {
    this.#url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs;
  }

  async authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome> {
    const { status, body } = await this.#call('/v1/payment_intents', request.idempotencyKey, {
      amount: request.amount,
      currency: request.currency,
      payment_method: request.paymentMethod,
      reference: request.reference,
    });
    const intent = body as { id?: string; status?: string; error?: { decline_code?: string } };
    if (status === 402) {
      return { status: 'declined', providerPaymentId: intent.id ?? null, reason: declineReason(intent) };
    }
    if (status !== 200 || !intent.id) throw new ProviderUnavailableError(`authorize answered ${status}`);
    if (intent.status === 'requires_action')
      return { status: 'requires_action', providerPaymentId: intent.id };
    return { status: 'authorized', providerPaymentId: intent.id };
  }

  async capture(request: { idempotencyKey: string; providerPaymentId: string }): Promise<void> {
    await this.#expectOk(
      `/v1/payment_intents/${request.providerPaymentId}/capture`,
      request.idempotencyKey,
      {},
    );
  }

  async void(request: { idempotencyKey: string; providerPaymentId: string }): Promise<void> {
    await this.#expectOk(
      `/v1/payment_intents/${request.providerPaymentId}/cancel`,
      request.idempotencyKey,
      {},
    );
  }

  async refund(request: {
    idempotencyKey: string;
    providerPaymentId: string;
    amount: number;
  }): Promise<{ providerRefundId: string }> {
    const body = await this.#expectOk('/v1/refunds', request.idempotencyKey, {
      payment_intent: request.providerPaymentId,
      amount: request.amount,
    });
    return { providerRefundId: (body as { id: string }).id };
  }

  async #expectOk(path: string, key: string, payload: object): Promise<unknown> {
    const { status, body } = await this.#call(path, key, payload);
    if (status !== 200) throw new ProviderUnavailableError(`${path} answered ${status}`);
    return body;
  }

  async #call(path: string, key: string, payload: object): Promise<{ status: number; body: unknown }> {
    try {
      const response = await fetch(`${this.#url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      return { status: response.status, body: await response.json().catch(() => ({})) };
    } catch (error) {
      throw new ProviderUnavailableError(`the provider did not answer ${path}`, { cause: error });
    }
  }
}

function declineReason(intent: { error?: { decline_code?: string } }): DeclineReason {
  const code = intent.error?.decline_code;
  if (code === 'insufficient_funds') return 'insufficient_funds';
  if (code === 'authentication_failed') return 'authentication_failed';
  return 'card_declined';
}
