import { paymentsOperations } from '@armature/contracts';
import { ApiError, registerOperation } from '@armature/platform';
import type { ServiceKit } from '@armature/platform/kit/index';
import { applyMove, firstDelivery, paymentByProviderId } from '../db/payments.ts';
import type { PaymentsDatabase } from '../db/schema.ts';
import { signatureHeader, verifyWebhook } from '../provider/webhook-signature.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body as it was sent (webhook signatures are over these bytes). */
    rawBody?: string;
  }
}

/**
 * The provider's signed webhook. The signature is checked over the raw body, its timestamp against
 * the tolerance window, and its event id against those already received, before anything changes;
 * then the outcome moves the payment (if its lifecycle still allows it) in the same transaction
 * that records the event id. A webhook about a payment not yet known here (its authorization is
 * still being recorded) is a 404 the provider retries.
 */
export function registerWebhookRoute(
  kit: ServiceKit<PaymentsDatabase>,
  options: { secret: string; toleranceSeconds: number; onOutcome: () => void },
): void {
  const { app, db } = kit;
  app.register(async (scope) => {
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
      request.rawBody = body as string;
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new ApiError('MALFORMED_JSON'), undefined);
      }
    });
    registerOperation(scope, paymentsOperations.receivePaymentWebhook, async (request, reply) => {
      const verdict = verifyWebhook(
        request.rawBody ?? '',
        request.headers[signatureHeader],
        options.secret,
        options.toleranceSeconds,
      );
      if (verdict !== 'valid') {
        throw new ApiError('INVALID_WEBHOOK_SIGNATURE', {
          details: [
            { field: signatureHeader, message: verdict === 'expired' ? 'is too old' : `is ${verdict}` },
          ],
        });
      }
      const event = request.body;
      await db.transaction().execute(async (trx) => {
        if (!(await firstDelivery(trx, event.id))) throw new ApiError('WEBHOOK_REPLAYED');
        const payment = await paymentByProviderId(trx, event.data.object.id);
        if (!payment) throw new ApiError('NOT_FOUND', { message: 'No payment has this provider id yet' });
        if (event.type === 'payment_intent.amount_capturable_updated') {
          await applyMove(trx, payment, { to: 'authorized' });
        } else if (event.type === 'payment_intent.payment_failed') {
          await applyMove(trx, payment, { to: 'failed', failureReason: 'authentication_failed' });
        }
      });
      options.onOutcome();
      return reply.code(204).send();
    });
  });
}
