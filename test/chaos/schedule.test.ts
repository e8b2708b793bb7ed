import { describe, expect, it } from 'vitest';
import { drawSchedule, faultWindow, parseDuration, prng } from './schedule.ts';

const targets = {
  processes: ['gateway-1', 'gateway-2', 'users-1', 'users-2', 'orders-1', 'orders-2'],
  proxies: ['users-db', 'orders-db', 'redis', 'nats'],
};

describe('chaos schedule', () => {
  it('is the same for the same seed, fault for fault', () => {
    const first = drawSchedule({ seed: 42, durationMs: 600_000, targets });
    const again = drawSchedule({ seed: 42, durationMs: 600_000, targets });
    expect(again).toEqual(first);
    expect(first.length).toBeGreaterThan(20);
  });

  it('differs for another seed', () => {
    const one = drawSchedule({ seed: 1, durationMs: 600_000, targets });
    const two = drawSchedule({ seed: 2, durationMs: 600_000, targets });
    expect(two).not.toEqual(one);
  });

  it('draws every kind of fault and every network mode over a long run, some overlapping', () => {
    const faults = drawSchedule({ seed: 7, durationMs: 600_000, targets });
    const kinds = new Set(faults.map((fault) => fault.kind));
    expect([...kinds].sort()).toEqual(['kill', 'nats-stop', 'network', 'postgres-restart', 'redis-stop']);
    const modes = new Set(faults.flatMap((fault) => (fault.mode ? [fault.mode] : [])));
    expect([...modes].sort()).toEqual(['blackhole', 'latency', 'reset', 'stall']);
    const overlapping = faults.filter((fault, i) =>
      faults.some((other, j) => i !== j && other.at <= fault.at && other.at + other.holdMs > fault.at),
    );
    expect(overlapping.length).toBeGreaterThan(0);
  });

  it('keeps faults inside the window, healed before the traffic stops, never two on one target', () => {
    for (const seed of [1, 2, 3, 99]) {
      const durationMs = 60_000 * (1 + (seed % 10));
      const { from, to } = faultWindow(durationMs);
      const faults = drawSchedule({ seed, durationMs, targets, meanGapMs: 3000 });
      for (const fault of faults) {
        expect(fault.at).toBeGreaterThanOrEqual(from);
        expect(fault.at + fault.holdMs).toBeLessThanOrEqual(to);
        const sameTarget = faults.filter(
          (other) => other !== fault && other.target === fault.target && other.at >= fault.at,
        );
        for (const other of sameTarget) expect(other.at).toBeGreaterThanOrEqual(fault.at + fault.holdMs);
      }
    }
  });

  it('has a PRNG that is uniform enough to draw from', () => {
    const next = prng(123);
    const values = Array.from({ length: 10_000 }, next);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
  });

  it('reads durations as the CLI takes them', () => {
    expect(parseDuration('60s')).toBe(60_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('90')).toBe(90_000);
    expect(() => parseDuration('ten minutes')).toThrow(/not a duration/);
  });
});
