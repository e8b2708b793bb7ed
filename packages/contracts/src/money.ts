import { Type } from '@sinclair/typebox';

/** v1 money: a decimal number of major units (`99.99`). */
export const MoneyV1 = Type.Number({ minimum: 0, examples: [99.99] });

/** v2 money: integer minor units plus an ISO 4217 currency (`{"amount": 9999, "currency": "USD"}`). */
export const MoneyV2 = Type.Object(
  {
    amount: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, examples: [9999] }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', minLength: 3, maxLength: 3, examples: ['USD'] }),
  },
  { additionalProperties: false },
);

export type ApiVersion = 1 | 2;
export const supportedVersions: readonly ApiVersion[] = [1, 2];
