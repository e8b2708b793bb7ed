/**
 * The demo catalog `npm run seed` writes. Fixed ids make seeding idempotent: a product already
 * there is left as it is (stock sold, prices changed by an admin), a missing one is added.
 * Amounts are minor units of the configured currency.
 */
export const demoProducts = [
  {
    id: '01a212cb-1955-7bbc-8d04-e8eaba6efb75',
    name: 'Espresso beans, 1 kg',
    description: 'Dark roast, chocolate and hazelnut notes',
    amount: 2450,
    stock: 200,
  },
  {
    id: '01a212cb-3de5-7113-9007-3f74d3788bc1',
    name: 'Filter beans, 250 g',
    description: 'Light roast, citrus and jasmine notes',
    amount: 1200,
    stock: 150,
  },
  {
    id: '01a212cb-63e3-7223-8cc0-596858c65f25',
    name: 'Hand grinder',
    description: 'Steel conical burrs, 40 grind settings',
    amount: 8900,
    stock: 25,
  },
  {
    id: '01a212cb-7d0b-733c-a4c4-55421e8e9018',
    name: 'Pour-over dripper',
    description: 'Ceramic, fits one to two cups',
    amount: 2800,
    stock: 60,
  },
  {
    id: '01a212cb-9c9c-777b-81cc-bf96701084a8',
    name: 'Paper filters, 100',
    description: 'Unbleached, for the pour-over dripper',
    amount: 599,
    stock: 500,
  },
  {
    id: '01a212cb-b01d-7dd3-a0ab-6084a632655b',
    name: 'Gooseneck kettle',
    description: '1 litre, temperature control',
    amount: 6999,
    stock: 12,
  },
  {
    id: '01a212cb-c3e4-733e-96fa-574e43278f54',
    name: 'Espresso cups, pair',
    description: 'Double-walled glass, 80 ml',
    amount: 1850,
    stock: 80,
  },
  {
    id: '01a212cb-d9b3-7990-a167-f4cf03876470',
    name: 'Limited edition scale',
    description: 'Only one left: try two checkouts at once',
    amount: 4500,
    stock: 1,
  },
] as const;
