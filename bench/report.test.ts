import { describe, expect, it } from 'vitest';
import {
  computeRatios,
  formatCpu,
  formatMs,
  formatRate,
  percentile,
  type Row,
  ratiosTable,
  replaceSection,
  resultsTable,
  rowsWithErrors,
} from './lib/report.ts';

// The bench report's arithmetic and formatting on fixed inputs; nothing here measures anything.

function row(id: string, fields: Partial<Row> = {}): Row {
  return {
    id,
    scenario: 'GET /v1/users/me',
    target: id,
    rate: 1000,
    requestsPerSecond: 1000,
    operations: 10_000,
    seconds: 10,
    p50: 1,
    p99: 2,
    p999: 3,
    errors: 0,
    statuses: { '200': 10_000 },
    cpuPerOperationUs: {},
    ...fields,
  };
}

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 0.5)).toBe(50);
    expect(percentile(sorted, 0.99)).toBe(99);
    expect(percentile(sorted, 0.999)).toBe(100);
    expect(percentile([7], 0.5)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('computeRatios', () => {
  const rows = [
    row('me.direct', { rate: 8000, p50: 1.5 }),
    row('me.gateway', { rate: 5000, p50: 2.1 }),
    row('checkout.gateway', { rate: 1200, errors: 3 }),
  ];

  it('divides rates, subtracts medians and checks targets', () => {
    const [ratio, latency] = computeRatios(rows, [
      {
        name: 'r',
        kind: 'rate-ratio',
        a: 'me.gateway',
        b: 'me.direct',
        target: { op: '>=', threshold: 0.5 },
      },
      {
        name: 'l',
        kind: 'p50-difference',
        a: 'me.gateway',
        b: 'me.direct',
        target: { op: '<', threshold: 1 },
      },
    ]);
    expect(ratio).toMatchObject({ value: 0.625, unit: '×', met: true });
    expect(latency!.value).toBeCloseTo(0.6, 10);
    expect(latency).toMatchObject({ unit: 'ms', met: true });
  });

  it('fails a rate target on errors when zero errors are required', () => {
    const [plain, strict] = computeRatios(rows, [
      { name: 'a', kind: 'rate', a: 'checkout.gateway', target: { op: '>=', threshold: 1000 } },
      {
        name: 'b',
        kind: 'rate',
        a: 'checkout.gateway',
        target: { op: '>=', threshold: 1000 },
        zeroErrors: true,
      },
    ]);
    expect(plain).toMatchObject({ value: 1200, unit: '/s', met: true });
    expect(strict).toMatchObject({ value: 1200, met: false });
  });

  it('gives NaN, and not met, for a missing row; no verdict without a target', () => {
    const [missing, informative] = computeRatios(rows, [
      { name: 'm', kind: 'rate-ratio', a: 'me.nginx', b: 'me.direct', target: { op: '>', threshold: 1 } },
      { name: 'i', kind: 'rate-ratio', a: 'me.direct', b: 'me.gateway' },
    ]);
    expect(missing!.value).toBeNaN();
    expect(missing!.met).toBe(false);
    expect(informative!.value).toBe(1.6);
    expect(informative!.met).toBeUndefined();
  });
});

describe('formatting', () => {
  it('formats rates, milliseconds and CPU times', () => {
    expect(formatRate(12_345.6)).toBe('12,346');
    expect(formatRate(Number.NaN)).toBe('–');
    expect(formatMs(0.4567)).toBe('0.46');
    expect(formatMs(12.34)).toBe('12.3');
    expect(formatMs(345.6)).toBe('346');
    expect(formatCpu({ gateway: 41.4, users: 88.6 })).toBe('gateway 41 · users 89');
  });

  it('prints one table row per measurement, the scenario once per group, errors in bold', () => {
    const table = resultsTable([
      row('me.direct', { target: 'users service, direct', cpuPerOperationUs: { users: 120 } }),
      row('me.gateway', { target: 'through the gateway', errors: 2, statuses: { '200': 9998, '502': 2 } }),
      row('login.limited', {
        scenario: 'POST /v1/auth/login',
        target: 'default limit',
        errors: 90,
        statuses: { '200': 10, '429': 90 },
        expectsRefusals: true,
      }),
    ]);
    expect(table.split('\n')).toEqual([
      '| scenario | target | ops/s | p50 ms | p99 ms | p99.9 ms | errors | CPU µs per op (each process) |',
      '|---|---|---:|---:|---:|---:|---:|---|',
      '| GET /v1/users/me | users service, direct | 1,000 | 1.00 | 2.00 | 3.00 | 0 | users 120 |',
      '|  | through the gateway | 1,000 | 1.00 | 2.00 | 3.00 | **2** 502×2 |  |',
      '| POST /v1/auth/login | default limit | 1,000 | 1.00 | 2.00 | 3.00 | 90 (429×90, expected) |  |',
    ]);
  });

  it('prints ratios with their targets and verdicts', () => {
    const table = ratiosTable([
      { name: 'gateway / direct', value: 0.625, unit: '×', target: { op: '>=', threshold: 0.5 }, met: true },
      { name: 'added median', value: 1.25, unit: 'ms', target: { op: '<', threshold: 1 }, met: false },
      { name: 'checkout', value: 1234.4, unit: '/s', note: 'PostgreSQL' },
    ]);
    expect(table.split('\n').slice(2)).toEqual([
      '| gateway / direct | 0.63× | >= 0.5× | yes |',
      '| added median | +1.250 ms | < 1 ms | **no** |',
      '| checkout (PostgreSQL) | 1,234/s |  |  |',
    ]);
  });

  it('counts errors only where refusals are not the point', () => {
    const rows = [row('a', { errors: 1 }), row('b', { errors: 5, expectsRefusals: true }), row('c')];
    expect(rowsWithErrors(rows).map((r) => r.id)).toEqual(['a']);
  });
});

describe('replaceSection', () => {
  it('replaces between the markers and keeps the rest', () => {
    const doc = 'intro\n<!-- bench:results -->\nold\n<!-- /bench:results -->\nafter\n';
    expect(replaceSection(doc, 'results', '| new |')).toBe(
      'intro\n<!-- bench:results -->\n| new |\n<!-- /bench:results -->\nafter\n',
    );
  });

  it('refuses a document without the markers', () => {
    expect(() => replaceSection('no markers', 'results', 'x')).toThrow(/markers/);
  });
});
