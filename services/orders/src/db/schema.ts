import type { IdempotencyKeysTable, InboxTable, OutboxTable } from '@armature/platform';
import type { ColumnType, Generated, Selectable } from 'kysely';

/** Kysely types of the orders database, kept in step with `migrations/`. */
export interface OrdersDatabase {
  /** Domain events (migration 0010, from the platform) and the customers projection (0011). */
  outbox: OutboxTable;
  inbox: InboxTable;
  customers: CustomersTable;
  products: ProductsTable;
  carts: CartsTable;
  cart_items: CartItemsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  idempotency_keys: IdempotencyKeysTable;
}

/** A timestamp column: read as a Date, written as a Date or an SQL expression. */
type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ProductsTable {
  id: string;
  name: string;
  description: Generated<string>;
  price_amount: number;
  currency: string;
  stock: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  deleted_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface CartsTable {
  user_id: string;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface CartItemsTable {
  user_id: string;
  product_id: string;
  quantity: number;
  added_at: Timestamp;
}

export type OrderStatus = 'pending' | 'paid' | 'shipped' | 'delivered' | 'cancelled';

export interface OrdersTable {
  id: string;
  user_id: string;
  status: Generated<OrderStatus>;
  total_amount: number;
  currency: string;
  item_count: number;
  note: string | null;
  /** The method chosen at checkout; null: paid by other means (an admin marks it paid). */
  payment_method: string | null;
  payment_status: PaymentStatus | null;
  payment_failure_reason: string | null;
  cancel_reason: CancelReason | null;
  version: Generated<number>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export type PaymentStatus = 'pending' | 'authorized' | 'captured' | 'failed' | 'voided' | 'refunded';
export type CancelReason = 'requested' | 'user_deleted' | 'payment_failed' | 'payment_timeout';

export interface OrderItemsTable {
  order_id: string;
  line: number;
  product_id: string;
  name: string;
  unit_amount: number;
  quantity: number;
}

export type ProductRow = Selectable<ProductsTable>;
export type OrderRow = Selectable<OrdersTable>;
export type OrderItemRow = Selectable<OrderItemsTable>;

export type CustomerStatus = 'active' | 'deleted';

/** A user as this service knows them from `user.*` events. */
export interface CustomersTable {
  id: string;
  email: string | null;
  name: string | null;
  status: CustomerStatus;
  version: number;
  updated_at: Generated<Timestamp>;
}
