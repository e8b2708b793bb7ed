import { accountsOperations, mfaOperations } from './accounts.ts';
import { apiKeysOperations } from './api-keys.ts';
import { authOperations } from './auth.ts';
import { cartsOperations } from './carts.ts';
import { deadLettersOperations } from './dead-letters.ts';
import { eventsOperations } from './events.ts';
import { healthOperations } from './health.ts';
import type { Operation } from './operation.ts';
import { ordersOperations } from './orders.ts';
import { paymentsOperations } from './payments.ts';
import { productsOperations } from './products.ts';
import { tracesOperations } from './traces.ts';
import { trafficOperations } from './traffic.ts';
import { usageOperations } from './usage.ts';
import { usersOperations } from './users.ts';

// armature:new-service imports

/**
 * The `*Operations` object of every area, one line each. The OpenAPI document
 * (`npm run contracts:generate`), the docs page and the contract checks of the tests are built from
 * this list: an operation missing here is missing from the contract.
 */
const areas: Record<string, Operation>[] = [
  healthOperations,
  authOperations,
  usersOperations,
  accountsOperations,
  apiKeysOperations,
  usageOperations,
  mfaOperations,
  productsOperations,
  cartsOperations,
  ordersOperations,
  eventsOperations,
  deadLettersOperations,
  paymentsOperations,
  tracesOperations,
  trafficOperations,
  // armature:new-service areas
];

/** Every operation the API offers. */
export const allOperations: Operation[] = areas.flatMap((operations) => Object.values(operations));
