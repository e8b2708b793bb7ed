export type { Middleware } from 'openapi-fetch';
export {
  type Armature,
  type ArmatureClient,
  type ArmatureClientOptions,
  type ArmatureOptions,
  createArmature,
  createClient,
} from './client.ts';
export { type ApiErrorDetail, ArmatureApiError, isArmatureApiError } from './errors.ts';
export { formatMoney, type MoneyV1, type MoneyV2, toMoneyV1, toMoneyV2 } from './money.ts';
export type { ListInit, ListItem, ListPath } from './paginate.ts';
export { type FetchLike, type RetryOptions, retryAfterMs } from './retry.ts';
export type { components, operations, paths } from './schema.d.ts';
export { type Credentials, Session, type SessionOptions } from './session.ts';

import type { components } from './schema.d.ts';
/** The named schemas of the contract: `Schemas['User']`, `Schemas['OrderV2']`. */
export type Schemas = components['schemas'];
