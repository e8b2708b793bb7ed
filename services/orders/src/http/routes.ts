import type { CursorCodec, Reads } from '@armature/platform';
import type { Cache } from '@armature/platform/cache/index';
import type { Kysely } from 'kysely';
import type { CustomerCheck } from '../clients/customer-check.ts';
import type { DeletedCustomers } from '../db/customers.ts';
import type { OrdersDatabase } from '../db/schema.ts';

/** What every route of the service needs. */
export interface OrdersContext {
  db: Kysely<OrdersDatabase>;
  /**
   * Read-only queries that may run on the read replica: product and order lists, one order and its
   * items. Cache fills read the primary (`db`): a stale row cached would outlive the replica's lag.
   */
  reads: Reads<OrdersDatabase>;
  /** The one currency prices are kept in (ISO 4217). */
  currency: string;
  cursors: CursorCodec;
  /** Product reads and per-user order lists are served from it; every write invalidates it. */
  cache: Cache;
  /** Users the `user.deleted` events named: their tokens are refused. */
  deletedCustomers: DeletedCustomers;
  /** Confirms with the users service that a customer may check out. */
  customers: CustomerCheck;
}
