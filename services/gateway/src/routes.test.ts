import { describe, expect, it } from 'vitest';
import { isPublicRoute, ownerOf } from './routes.ts';

describe('which service owns a path', () => {
  it.each([
    ['/users', 'users'],
    ['/users/usr_1', 'users'],
    ['/users/me', 'users'],
    ['/auth/login', 'users'],
    ['/users/usr_1/cart', 'orders'],
    ['/users/usr_1/cart/items/prd_1', 'orders'],
    ['/users/me/orders', 'orders'],
    ['/users/usr_1/ordersx', 'users'],
    ['/products', 'orders'],
    ['/products/prd_1', 'orders'],
    ['/orders/ord_1/items', 'orders'],
    ['/widgets', undefined],
    ['//users', undefined],
    ['/usersx', undefined],
    ['/constructor', undefined],
  ])('%s → %s', (path, owner) => {
    expect(ownerOf(path)).toBe(owner);
  });
});

describe('the public allow-list', () => {
  it('opens registration, login, refresh and product reads only', () => {
    expect(isPublicRoute('POST', '/users')).toBe(true);
    expect(isPublicRoute('POST', '/auth/login')).toBe(true);
    expect(isPublicRoute('POST', '/auth/refresh')).toBe(true);
    expect(isPublicRoute('GET', '/products')).toBe(true);
    expect(isPublicRoute('HEAD', '/products/prd_1')).toBe(true);

    expect(isPublicRoute('GET', '/users')).toBe(false);
    expect(isPublicRoute('POST', '/auth/logout')).toBe(false);
    expect(isPublicRoute('POST', '/products')).toBe(false);
    expect(isPublicRoute('GET', '/products/prd_1/anything')).toBe(false);
    expect(isPublicRoute('DELETE', '/products/prd_1')).toBe(false);
    expect(isPublicRoute('GET', '/orders')).toBe(false);
  });
});
