import { describe, expect, it } from 'vitest';
import { edgeFigures, quantile, routeFigures, type Snapshot, serviceFigures } from './traffic-series.ts';

const bounds = [0.001, 0.01, 0.1];
const snapshot = (at: number, requests: number, errors: number, buckets: number[], hits = 0): Snapshot => ({
  at,
  bucketBounds: bounds,
  routes: [{ service: 'users', method: 'GET', route: '/v1/users/:id', requests, errors, buckets }],
  rateLimitRefusals: { login: errors },
  cache: { hits, misses: 1 },
});

describe('traffic figures', () => {
  it('estimates percentiles within the bucket where the rank falls', () => {
    // 10 requests: 5 under 1 ms, 4 more under 10 ms, 1 more under 100 ms.
    expect(quantile(0.5, bounds, [5, 9, 10], 10)).toBeCloseTo(0.001);
    expect(quantile(0.9, bounds, [5, 9, 10], 10)).toBeCloseTo(0.01);
    expect(quantile(0.99, bounds, [5, 9, 10], 10)).toBeCloseTo(0.01 + 0.09 * 0.9);
    expect(quantile(0.5, bounds, [0, 0, 0], 0)).toBeNull();
    // Slower than every bound: the last bound.
    expect(quantile(0.5, bounds, [0, 0, 0], 4)).toBe(0.1);
  });

  it('turns two snapshots into rates, error ratios and percentiles per route and per service', () => {
    const before = snapshot(0, 100, 1, [50, 90, 100]);
    const after = snapshot(10_000, 120, 3, [60, 110, 120], 8);
    const route = routeFigures(before, after).get('users GET /v1/users/:id');
    expect(route?.rate).toBe(2);
    expect(route?.errorRatio).toBeCloseTo(0.1);
    expect(route?.p50).toBeCloseTo(1);
    expect(serviceFigures(before, after).get('users')?.rate).toBe(2);
    expect(edgeFigures(before, after)).toEqual({ refusals: 2, cacheHitRatio: 1 });
  });

  it('counts from zero again after a process restarted', () => {
    const route = routeFigures(snapshot(0, 100, 0, [100, 100, 100]), snapshot(1000, 5, 0, [5, 5, 5])).get(
      'users GET /v1/users/:id',
    );
    expect(route?.rate).toBe(5);
  });
});
