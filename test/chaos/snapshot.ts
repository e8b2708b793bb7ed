import { toPublicId } from '@armature/platform';
import pg from 'pg';
import type { OutboxEvent, Snapshot } from './invariants.ts';

/** Reads what the invariants need straight from each service's database and from the provider simulator. */
export async function takeSnapshot(
  databaseUrl: (service: string) => string,
  simulatorUrl: string,
): Promise<Snapshot> {
  const query = async <T>(service: string, text: string): Promise<T[]> => {
    const client = new pg.Client({ connectionString: databaseUrl(service) });
    await client.connect();
    try {
      return (await client.query(text)).rows as T[];
    } finally {
      await client.end();
    }
  };
  const outbox = async (service: string): Promise<OutboxEvent[]> =>
    (
      await query<{
        id: string;
        type: string;
        aggregate_id: string;
        data: unknown;
        published_at: Date | null;
      }>(service, 'select id, type, aggregate_id, data, published_at from outbox order by seq')
    ).map((row) => ({
      id: row.id,
      type: row.type,
      aggregateId: row.aggregate_id,
      data: typeof row.data === 'string' ? JSON.parse(row.data) : row.data,
      published: row.published_at !== null,
    }));
  const inbox: Record<string, string[]> = {};
  for (const service of ['users', 'orders', 'payments']) {
    for (const row of await query<{ event_id: string; consumer: string }>(
      service,
      'select event_id, consumer from inbox',
    )) {
      const handled = inbox[row.consumer] ?? [];
      handled.push(row.event_id);
      inbox[row.consumer] = handled;
    }
  }
  const user = (id: string) => toPublicId('user', id);
  const order = (id: string) => toPublicId('order', id);
  const product = (id: string) => toPublicId('product', id);
  const response = await fetch(`${simulatorUrl}/v1/_intents`);
  const intents = (await response.json()) as unknown;
  const intentList = (
    Array.isArray(intents) ? intents : ((intents as { data?: unknown[] }).data ?? [])
  ) as Snapshot['intents'];
  return {
    users: (
      await query<{ id: string; email: string; name: string; version: number; deleted_at: Date | null }>(
        'users',
        'select id, email, name, version, deleted_at from users',
      )
    ).map((row) => ({
      id: user(row.id),
      email: row.email,
      name: row.name,
      version: row.version,
      deleted: row.deleted_at !== null,
    })),
    customers: (
      await query<{ id: string; email: string | null; name: string | null; status: string; version: number }>(
        'orders',
        'select id, email, name, status, version from customers',
      )
    ).map((row) => ({ ...row, id: user(row.id) })),
    products: (await query<{ id: string; stock: number }>('orders', 'select id, stock from products')).map(
      (row) => ({
        id: product(row.id),
        stock: row.stock,
      }),
    ),
    orders: (
      await query<{
        id: string;
        user_id: string;
        status: string;
        total_amount: string;
        payment_method: string | null;
        payment_status: string | null;
      }>('orders', 'select id, user_id, status, total_amount, payment_method, payment_status from orders')
    ).map((row) => ({
      id: order(row.id),
      userId: user(row.user_id),
      status: row.status,
      total: Number(row.total_amount),
      paymentMethod: row.payment_method,
      paymentStatus: row.payment_status,
    })),
    orderItems: (
      await query<{ order_id: string; product_id: string; quantity: number }>(
        'orders',
        'select order_id, product_id, quantity from order_items',
      )
    ).map((row) => ({
      orderId: order(row.order_id),
      productId: product(row.product_id),
      quantity: row.quantity,
    })),
    cartItems: (
      await query<{ user_id: string; product_id: string; quantity: number }>(
        'orders',
        'select user_id, product_id, quantity from cart_items',
      )
    ).map((row) => ({
      userId: user(row.user_id),
      productId: product(row.product_id),
      quantity: row.quantity,
    })),
    payments: (
      await query<{
        id: string;
        order_id: string;
        amount: string;
        method: string;
        status: string;
        refunded_amount: string;
        order_paid: boolean;
        order_cancelled: boolean;
      }>(
        'payments',
        'select id, order_id, amount, method, status, refunded_amount, order_paid, order_cancelled from payments',
      )
    ).map((row) => ({
      id: row.id,
      orderId: order(row.order_id),
      amount: Number(row.amount),
      method: row.method,
      status: row.status,
      refunded: Number(row.refunded_amount),
      orderPaid: row.order_paid,
      orderCancelled: row.order_cancelled,
    })),
    intents: intentList,
    outbox: {
      users: await outbox('users'),
      orders: await outbox('orders'),
      payments: await outbox('payments'),
    },
    inbox,
  };
}

/**
 * What is still in flight: unpublished events, payments the worker still owes a provider call, orders
 * still waiting for their payment's outcome. The run waits for all of it to reach 0 before checking.
 */
export async function backlog(databaseUrl: (service: string) => string): Promise<Record<string, number>> {
  const count = async (service: string, text: string) => {
    const client = new pg.Client({ connectionString: databaseUrl(service) });
    await client.connect();
    try {
      return Number((await client.query(text)).rows[0].count);
    } finally {
      await client.end();
    }
  };
  return {
    'users outbox': await count('users', 'select count(*) from outbox where published_at is null'),
    'orders outbox': await count('orders', 'select count(*) from outbox where published_at is null'),
    'payments outbox': await count('payments', 'select count(*) from outbox where published_at is null'),
    'payments due': await count(
      'payments',
      `select count(*) from payments where status = 'pending' or status = 'requires_action'
         or (status in ('requires_action', 'authorized', 'captured') and order_cancelled)
         or (status = 'authorized' and order_paid)`,
    ),
    'orders awaiting payment': await count(
      'orders',
      `select count(*) from orders where payment_method is not null and payment_status = 'pending' and status <> 'cancelled'`,
    ),
  };
}
