import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { claimDuePayments, movePayment, recordAttempt, retryLater } from '../db/payments.ts';
import type { PaymentRow, PaymentsDatabase } from '../db/schema.ts';
import { nextStep, paymentIds, providerKey, retryDelayMs } from '../domain/payments.ts';
import { type PaymentProvider, ProviderUnavailableError } from '../provider/port.ts';

/**
 * Brings each payment in line with its order by calling the provider: authorize a new one, capture
 * a paid order's, void a cancelled order's authorization, refund a cancelled order's capture. It
 * runs every `intervalMs` and whenever woken (a consumed event, a webhook). A call the provider does
 * not answer is retried later with the same idempotency key, so a payment is charged once however
 * often the call is made (after a crash between the provider's answer and our commit, too).
 */
export class PaymentWorker {
  readonly #db: Kysely<PaymentsDatabase>;
  readonly #provider: PaymentProvider;
  readonly #log: FastifyBaseLogger;
  readonly #intervalMs: number;
  readonly #leaseSeconds: number;
  #timer: NodeJS.Timeout | undefined;
  #eventsWritten: () => void = () => {};
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: {
    db: Kysely<PaymentsDatabase>;
    provider: PaymentProvider;
    log: FastifyBaseLogger;
    intervalMs: number;
    /** How long a claimed payment is left alone by other passes (a crashed pass's claim runs out). */
    leaseSeconds?: number;
  }) {
    this.#db = options.db;
    this.#provider = options.provider;
    this.#log = options.log;
    this.#intervalMs = options.intervalMs;
    this.#leaseSeconds = options.leaseSeconds ?? 30;
  }

  /** `eventsWritten` is called after each step, whose commit wrote the payment's event. */
  start(eventsWritten: () => void = () => {}): void {
    this.#eventsWritten = eventsWritten;
    this.#timer = setInterval(() => this.wake(), this.#intervalMs);
    this.#timer.unref();
    this.wake();
  }

  /** Look for work now (one pass at a time; a wake during a pass runs another after it). */
  wake(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#pass()
      .catch((error) => this.#log.warn({ err: error }, 'payment worker pass failed'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        }
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  async #pass(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      const due = await claimDuePayments(this.#db, 20, this.#leaseSeconds);
      if (due.length === 0) return;
      await Promise.all(due.map((payment) => this.#step(payment)));
    }
  }

  async #step(payment: PaymentRow): Promise<void> {
    const step = nextStep(payment);
    if (step === 'none') return;
    const idempotencyKey = providerKey(payment.id, step);
    try {
      await this.#act(payment, step, idempotencyKey);
    } catch (error) {
      if (!(error instanceof ProviderUnavailableError)) throw error;
      const delay = retryDelayMs(payment.attempts);
      this.#log.warn({ payment: payment.id, step, delay }, 'payment provider unavailable; retrying later');
      await recordAttempt(this.#db, payment.id, { operation: step, idempotencyKey, outcome: 'unavailable' });
      await retryLater(this.#db, payment.id, delay);
    }
  }

  async #act(payment: PaymentRow, step: 'authorize' | 'capture' | 'void' | 'refund', idempotencyKey: string) {
    const provider = this.#provider;
    const providerPaymentId = payment.provider_payment_id ?? '';
    const attempt = (outcome: string) =>
      recordAttempt(this.#db, payment.id, { operation: step, idempotencyKey, outcome });
    switch (step) {
      case 'authorize': {
        const outcome = await provider.authorize({
          idempotencyKey,
          amount: payment.amount,
          currency: payment.currency,
          paymentMethod: payment.method,
          reference: paymentIds.toPublic(payment.id),
        });
        await attempt(outcome.status);
        if (outcome.status === 'declined') {
          await movePayment(this.#db, payment.id, {
            to: 'failed',
            failureReason: outcome.reason,
            providerPaymentId: outcome.providerPaymentId ?? undefined,
          });
        } else {
          await movePayment(this.#db, payment.id, {
            to: outcome.status,
            providerPaymentId: outcome.providerPaymentId,
          });
        }
        break;
      }
      case 'capture':
        await provider.capture({ idempotencyKey, providerPaymentId });
        await attempt('captured');
        await movePayment(this.#db, payment.id, { to: 'captured' });
        break;
      case 'void':
        await provider.void({ idempotencyKey, providerPaymentId });
        await attempt('voided');
        await movePayment(this.#db, payment.id, { to: 'voided' });
        break;
      case 'refund': {
        const amount = payment.amount - payment.refunded_amount;
        const { providerRefundId } = await provider.refund({ idempotencyKey, providerPaymentId, amount });
        await attempt('refunded');
        await movePayment(this.#db, payment.id, { to: 'refunded', refund: { amount, providerRefundId } });
        break;
      }
    }
    this.#eventsWritten();
    // Whatever is due next for this payment (void after a late authorization, say) goes now.
    this.wake();
  }
}
