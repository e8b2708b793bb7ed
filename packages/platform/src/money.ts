/**
 * Money is kept as integer minor units plus an ISO 4217 currency. v1 of the API shows a decimal of
 * major units (`99.99`); v2 shows `{amount: 9999, currency: 'USD'}`.
 */
export type ApiVersion = 1 | 2;
export type MoneyView = number | { amount: number; currency: string };

const digitsByCurrency = new Map<string, number>();

/** Minor-unit digits of a currency (USD 2, JPY 0, BHD 3), from the platform's ICU data. */
export function currencyDigits(currency: string): number {
  let digits = digitsByCurrency.get(currency);
  if (digits === undefined) {
    digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits as number;
    digitsByCurrency.set(currency, digits);
  }
  return digits;
}

export function isKnownCurrency(currency: string): boolean {
  return Intl.supportedValuesOf('currency').includes(currency);
}

export function moneyView(amount: number, currency: string, version: ApiVersion): MoneyView {
  return version === 1 ? amount / 10 ** currencyDigits(currency) : { amount, currency };
}

/**
 * A decimal of major units as minor units, or undefined when it has more decimals than the
 * currency has minor digits (`19.999` USD) — such a value names no amount we can store.
 */
export function minorUnits(major: number, currency: string): number | undefined {
  const scaled = major * 10 ** currencyDigits(currency);
  const rounded = Math.round(scaled);
  return Math.abs(scaled - rounded) < 1e-6 && Number.isSafeInteger(rounded) ? rounded : undefined;
}

/** A money filter or input as minor units: v1 sends decimals, v2 integer minor units. */
export function amountFromVersion(value: number, currency: string, version: ApiVersion): number | undefined {
  if (version === 2) return Number.isSafeInteger(value) ? value : undefined;
  return minorUnits(value, currency);
}
