import {
  type ApiVersion,
  type PaymentFailureReason,
  paymentFields,
  paymentSortKeys,
  paymentsOperations,
} from '@armature/contracts';
import {
  ApiError,
  isoTimestamp,
  type ListSpec,
  listBody,
  parsePublicId,
  principalOf,
  readListQuery,
  registerOperation,
  toPublicId,
} from '@armature/platform';
import type { ServiceKit } from '@armature/platform/kit/index';
import { moneyView } from '@armature/platform/money';
import type { FastifyRequest } from 'fastify';
import { findPayment, listPayments } from '../db/payments.ts';
import type { PaymentRow, PaymentsDatabase } from '../db/schema.ts';
import { paymentIds } from '../domain/payments.ts';

export function paymentView(row: PaymentRow, version: ApiVersion) {
  return {
    id: paymentIds.toPublic(row.id),
    orderId: toPublicId('order', row.order_id),
    userId: toPublicId('user', row.user_id),
    amount: moneyView(row.amount, row.currency, version),
    method: row.method,
    status: row.status,
    failureReason: row.failure_reason as PaymentFailureReason | null,
    refunded: moneyView(row.refunded_amount, row.currency, version),
    createdAt: isoTimestamp(row.created_at),
    updatedAt: isoTimestamp(row.updated_at),
  };
}

const paymentList: ListSpec<'createdAt', PaymentRow> = {
  name: 'payments',
  sortKeys: paymentSortKeys,
  defaultSort: [{ key: 'createdAt', direction: 'desc' }],
  fields: paymentFields,
  sortValue: (row) => row.created_at.toISOString(),
  idOf: (row) => row.id,
};

/** The caller: their user UUID, and whether they see everyone's payments. */
function caller(request: FastifyRequest) {
  const principal = principalOf(request);
  return { userId: parsePublicId('user', principal.userId) ?? '', isAdmin: principal.isAdmin };
}

export function registerPaymentRoutes({ app, db, cursors }: ServiceKit<PaymentsDatabase>): void {
  const ops = paymentsOperations;

  registerOperation(app, ops.listPayments, async (request, _reply, version) => {
    const list = readListQuery(request.query, paymentList, cursors);
    const who = caller(request);
    const { orderId } = request.query;
    const orderUuid = orderId === undefined ? undefined : parsePublicId('order', orderId);
    if (orderId !== undefined && !orderUuid) {
      throw new ApiError('VALIDATION_ERROR', {
        details: [{ field: 'orderId', message: 'must be an `ord_…` id' }],
      });
    }
    const page = await listPayments(
      db,
      { userId: who.isAdmin ? undefined : who.userId, orderId: orderUuid },
      list.page,
    );
    return listBody(page, list, paymentList, cursors, (row) => paymentView(row, version));
  });

  registerOperation(app, ops.getPayment, async (request, _reply, version) => {
    const row = await findPayment(db, paymentIds.require(request.params.id));
    const who = caller(request);
    // Someone else's payment is as absent as one that does not exist.
    if (!row || (!who.isAdmin && row.user_id !== who.userId)) throw new ApiError('NOT_FOUND');
    return paymentView(row, version);
  });
}
