/** A cart line as checkout finds it, with its product locked. */
export interface CartLine {
  productId: string;
  name: string;
  unitAmount: number;
  currency: string;
  stock: number;
  /** The product was removed from the catalog after it went into the cart. */
  deleted: boolean;
  quantity: number;
  addedAt: Date;
}

export interface Shortage {
  productId: string;
  requested: number;
  /** Units left; 0 for a product no longer sold. */
  available: number;
}

export interface OrderPlan {
  /** The lines in the order they were added to the cart, numbered from 1. */
  lines: Array<{ line: number; productId: string; name: string; unitAmount: number; quantity: number }>;
  totalAmount: number;
  currency: string;
  itemCount: number;
}

export class CartEmptyError extends Error {
  constructor() {
    super('The cart is empty');
    this.name = 'CartEmptyError';
  }
}

export class OutOfStockError extends Error {
  readonly shortages: Shortage[];
  constructor(shortages: Shortage[]) {
    super('Not enough stock');
    this.name = 'OutOfStockError';
    this.shortages = shortages;
  }
}

export class MixedCurrenciesError extends Error {
  constructor() {
    super('The cart holds products priced in different currencies');
    this.name = 'MixedCurrenciesError';
  }
}

/**
 * Turns a locked cart into an order: every line must be in stock (all shortages are reported at
 * once) and priced in one currency; unit prices are captured as they are now.
 */
export function planOrder(cart: CartLine[]): OrderPlan {
  if (cart.length === 0) throw new CartEmptyError();
  const shortages = cart
    .filter((line) => line.deleted || line.stock < line.quantity)
    .map((line) => ({
      productId: line.productId,
      requested: line.quantity,
      available: line.deleted ? 0 : line.stock,
    }));
  if (shortages.length > 0) throw new OutOfStockError(shortages);
  const currencies = new Set(cart.map((line) => line.currency));
  if (currencies.size > 1) throw new MixedCurrenciesError();
  const ordered = [...cart].sort(
    (a, b) => a.addedAt.getTime() - b.addedAt.getTime() || a.productId.localeCompare(b.productId),
  );
  return {
    lines: ordered.map((line, index) => ({
      line: index + 1,
      productId: line.productId,
      name: line.name,
      unitAmount: line.unitAmount,
      quantity: line.quantity,
    })),
    totalAmount: cart.reduce((sum, line) => sum + line.unitAmount * line.quantity, 0),
    currency: cart[0]!.currency,
    itemCount: cart.reduce((sum, line) => sum + line.quantity, 0),
  };
}
