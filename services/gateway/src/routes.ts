export type Upstream = 'users' | 'orders';

/**
 * Which service owns a public path (the version prefix already stripped). Order matters: the cart and
 * a user's orders live under `/users/{id}` but belong to the orders service.
 */
const ownership: Array<[RegExp, Upstream]> = [
  [/^\/users\/[^/]+\/(cart|orders)(\/|$)/, 'orders'],
  [/^\/(users|auth)(\/|$)/, 'users'],
  [/^\/(products|orders)(\/|$)/, 'orders'],
];

export function ownerOf(path: string): Upstream | undefined {
  for (const [pattern, upstream] of ownership) if (pattern.test(path)) return upstream;
  return undefined;
}
