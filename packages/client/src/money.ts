/** v1 money: a decimal number of major units (`99.99`). */
export type MoneyV1 = number;

/** v2 money: integer minor units and an ISO 4217 currency (`{ amount: 9999, currency: 'USD' }`). */
export interface MoneyV2 {
  amount: number;
  currency: string;
}

/**
 * v2 money from v1 (major units) for a currency with `digits` minor digits (2 for USD/EUR).
 * Rounds to the nearest minor unit, as the API does.
 */
export function toMoneyV2(amount: MoneyV1, currency: string, digits = 2): MoneyV2 {
  return { amount: Math.round(amount * 10 ** digits), currency };
}

/** v1 money (major units) from v2. */
export function toMoneyV1(money: MoneyV2, digits = 2): MoneyV1 {
  return money.amount / 10 ** digits;
}

/** For display: `formatMoney({ amount: 9999, currency: 'USD' }, 'en-US')` → `$99.99`. */
export function formatMoney(money: MoneyV2, locale?: string): string {
  const format = new Intl.NumberFormat(locale, { style: 'currency', currency: money.currency });
  const digits = format.resolvedOptions().maximumFractionDigits ?? 2;
  return format.format(money.amount / 10 ** digits);
}
