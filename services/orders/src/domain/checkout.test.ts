import { describe, expect, it } from 'vitest';
import {
  CartEmptyError,
  type CartLine,
  MixedCurrenciesError,
  OutOfStockError,
  planOrder,
} from './checkout.ts';

const line = (productId: string, overrides: Partial<CartLine> = {}): CartLine => ({
  productId,
  name: `Product ${productId}`,
  unitAmount: 250,
  currency: 'USD',
  stock: 10,
  deleted: false,
  quantity: 1,
  addedAt: new Date('2024-01-15T10:30:00Z'),
  ...overrides,
});

describe('planning an order from a cart', () => {
  it('captures prices, totals the lines and numbers them in the order they were added', () => {
    const plan = planOrder([
      line('b', { quantity: 2, unitAmount: 1000, addedAt: new Date('2024-01-15T10:31:00Z') }),
      line('a', { quantity: 3, unitAmount: 199 }),
    ]);
    expect(plan).toEqual({
      lines: [
        { line: 1, productId: 'a', name: 'Product a', unitAmount: 199, quantity: 3 },
        { line: 2, productId: 'b', name: 'Product b', unitAmount: 1000, quantity: 2 },
      ],
      totalAmount: 2597,
      currency: 'USD',
      itemCount: 5,
    });
  });

  it('refuses an empty cart', () => {
    expect(() => planOrder([])).toThrow(CartEmptyError);
  });

  it('names every line it cannot fill, a removed product as having none', () => {
    try {
      planOrder([line('a', { quantity: 5, stock: 2 }), line('b'), line('c', { deleted: true })]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(OutOfStockError);
      expect((error as OutOfStockError).shortages).toEqual([
        { productId: 'a', requested: 5, available: 2 },
        { productId: 'c', requested: 1, available: 0 },
      ]);
    }
  });

  it('refuses a cart priced in two currencies', () => {
    expect(() => planOrder([line('a'), line('b', { currency: 'EUR' })])).toThrow(MixedCurrenciesError);
  });
});
