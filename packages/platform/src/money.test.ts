import { describe, expect, it } from 'vitest';
import { amountFromVersion, currencyDigits, minorUnits, moneyView } from './money.ts';

describe('money', () => {
  it('knows each currency’s minor digits', () => {
    expect([currencyDigits('USD'), currencyDigits('JPY'), currencyDigits('BHD')]).toEqual([2, 0, 3]);
  });

  it('shows a decimal in v1 and minor units with the currency in v2', () => {
    expect(moneyView(9999, 'USD', 1)).toBe(99.99);
    expect(moneyView(9999, 'USD', 2)).toEqual({ amount: 9999, currency: 'USD' });
    expect(moneyView(500, 'JPY', 1)).toBe(500);
  });

  it('reads decimals exactly, despite binary floating point', () => {
    expect(minorUnits(0.29, 'USD')).toBe(29);
    expect(minorUnits(19.99, 'USD')).toBe(1999);
    expect(minorUnits(1.005, 'USD')).toBeUndefined();
    expect(minorUnits(1.5, 'JPY')).toBeUndefined();
  });

  it('reads filters as decimals in v1 and whole minor units in v2', () => {
    expect(amountFromVersion(12.5, 'USD', 1)).toBe(1250);
    expect(amountFromVersion(1250, 'USD', 2)).toBe(1250);
    expect(amountFromVersion(12.5, 'USD', 2)).toBeUndefined();
  });
});
