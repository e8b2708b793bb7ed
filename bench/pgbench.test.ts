import { describe, expect, it } from 'vitest';
import { parsePgbenchOutput } from './lib/pgbench.ts';

const summary = `transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: prepared
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 10 s
number of transactions actually processed: 9417
number of failed transactions: 0 (0.000%)
latency average = 16.395 ms
initial connection time = 12.345 ms
tps = 975.922746 (without initial connection time)
`;

describe('the pgbench baseline', () => {
  it('reads transactions per second, the average latency and the count from pgbench’s summary', () => {
    expect(parsePgbenchOutput(summary)).toEqual({ tps: 975.922746, latencyMs: 16.395, transactions: 9417 });
  });

  it('refuses a run with failed transactions or without a summary, rather than report a ceiling', () => {
    expect(() =>
      parsePgbenchOutput(summary.replace('failed transactions: 0', 'failed transactions: 3')),
    ).toThrow(/3 transactions failed/);
    expect(() => parsePgbenchOutput('connection to server failed')).toThrow(/no summary/);
  });
});
