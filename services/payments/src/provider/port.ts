/**
 * The payment provider port: the four calls the payments service makes, each carrying an
 * idempotency key (a retried call returns the first call's outcome and never charges twice), and
 * the outcomes it needs. Asynchronous outcomes arrive by signed webhook (`webhook-signature.ts`).
 * A real provider is an adapter of this interface (see docs/payments.md); the built-in one speaks
 * to the provider simulator over HTTP.
 */
export type DeclineReason = 'card_declined' | 'insufficient_funds' | 'authentication_failed';

export type AuthorizeOutcome =
  | { status: 'authorized'; providerPaymentId: string }
  /** Waits for the customer (3-D Secure); the outcome comes by webhook. */
  | { status: 'requires_action'; providerPaymentId: string }
  | { status: 'declined'; providerPaymentId: string | null; reason: DeclineReason };

export interface AuthorizeRequest {
  idempotencyKey: string;
  /** Minor units. */
  amount: number;
  currency: string;
  paymentMethod: string;
  /** Our reference (the payment's public id), echoed in the provider's events. */
  reference: string;
}

export interface PaymentProvider {
  authorize(request: AuthorizeRequest): Promise<AuthorizeOutcome>;
  capture(request: { idempotencyKey: string; providerPaymentId: string }): Promise<void>;
  void(request: { idempotencyKey: string; providerPaymentId: string }): Promise<void>;
  refund(request: {
    idempotencyKey: string;
    providerPaymentId: string;
    amount: number;
  }): Promise<{ providerRefundId: string }>;
}

/** The provider did not answer in time or could not be reached: the outcome is unknown, retry with the same key. */
export class ProviderUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProviderUnavailableError';
  }
}
