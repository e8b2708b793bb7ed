import { describe, expect, it } from 'vitest';
import type { OrderStatus } from '../db/schema.ts';
import { judgeTransition, returnsStock } from './order-lifecycle.ts';

const admin = { isAdmin: true };
const member = { isAdmin: false };
const statuses: OrderStatus[] = ['pending', 'paid', 'shipped', 'delivered', 'cancelled'];

describe('order lifecycle', () => {
  it('lets an admin make exactly the moves pending → paid → shipped → delivered and pending|paid → cancelled', () => {
    const allowed = statuses.flatMap((from) =>
      statuses.filter((to) => judgeTransition(from, to, admin) === 'allowed').map((to) => `${from}→${to}`),
    );
    expect(allowed.sort()).toEqual(
      ['pending→paid', 'paid→shipped', 'shipped→delivered', 'pending→cancelled', 'paid→cancelled'].sort(),
    );
  });

  it('lets a member only cancel their order before it ships; other lifecycle moves are forbidden, not invalid', () => {
    expect(judgeTransition('pending', 'cancelled', member)).toBe('allowed');
    expect(judgeTransition('paid', 'cancelled', member)).toBe('allowed');
    expect(judgeTransition('paid', 'shipped', member)).toBe('forbidden');
    expect(judgeTransition('pending', 'paid', member)).toBe('forbidden');
    expect(judgeTransition('delivered', 'cancelled', member)).toBe('invalid');
  });

  it('treats staying in the same status as an invalid move', () => {
    for (const status of statuses) expect(judgeTransition(status, status, admin)).toBe('invalid');
  });

  it('returns stock only when an order is cancelled', () => {
    expect(statuses.filter(returnsStock)).toEqual(['cancelled']);
  });
});
