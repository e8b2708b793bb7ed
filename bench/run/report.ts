import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { RatioSpec } from '../lib/report.ts';

/** The ratios the report prints, and what it says of the machine. */

// ---------------------------------------------------------------- the report

export const ratioSpecs: RatioSpec[] = [
  {
    name: 'me: gateway / direct, requests/s',
    kind: 'rate-ratio',
    a: 'me.gateway',
    b: 'me.direct',
    target: { op: '>=', threshold: 0.5 },
  },
  {
    name: 'me, embedded: through the gateway / users service on its own port, requests/s',
    kind: 'rate-ratio',
    a: 'me.embedded',
    b: 'me.embedded-direct',
    target: { op: '>=', threshold: 0.8 },
  },
  {
    name: 'me: gateway − direct, median latency',
    kind: 'p50-difference',
    a: 'me.gateway',
    b: 'me.direct',
    target: { op: '<', threshold: 1 },
  },
  {
    name: "proxy-bound: gateway with the console's span store / without (CONSOLE_TRACES=false)",
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.gateway-untraced',
    target: { op: '>=', threshold: 0.97 },
  },
  {
    name: 'proxy-bound: gateway (in-process rate limits) / nginx-light',
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.nginx',
    target: { op: '>=', threshold: 0.6 },
  },
  {
    name: 'proxy-bound: gateway (in-process rate limits) / plain reply-from',
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.replyfrom',
    target: { op: '>=', threshold: 1.5 },
  },
  {
    name: 'proxy-bound: gateway (in-process rate limits) / node:http + undici proxy',
    kind: 'rate-ratio',
    a: 'proxy.gateway',
    b: 'proxy.raw',
  },
  {
    name: 'proxy-bound: plain reply-from / node:http + undici proxy',
    kind: 'rate-ratio',
    a: 'proxy.replyfrom',
    b: 'proxy.raw',
  },
  {
    name: 'proxy-bound: gateway with Redis rate limits (leases) / in-process rate limits',
    kind: 'rate-ratio',
    a: 'proxy.gateway-redis',
    b: 'proxy.gateway',
    target: { op: '>=', threshold: 0.9 },
  },
  {
    name: 'proxy-bound: gateway with Redis rate limits / nginx-light',
    kind: 'rate-ratio',
    a: 'proxy.gateway-redis',
    b: 'proxy.nginx',
    target: { op: '>=', threshold: 0.5 },
  },
  {
    name: 'proxy-bound: API-key request / JWT request (gateway, in-process rate limits)',
    kind: 'rate-ratio',
    a: 'proxy.gateway-apikey',
    b: 'proxy.gateway',
    target: { op: '>=', threshold: 0.9 },
  },
  {
    name: 'proxy-bound: gateway with Redis rate limits / plain reply-from',
    kind: 'rate-ratio',
    a: 'proxy.gateway-redis',
    b: 'proxy.replyfrom',
  },
  {
    name: 'me: gateway / nginx-light, in front of the users service',
    kind: 'rate-ratio',
    a: 'me.gateway',
    b: 'me.nginx',
  },
  {
    name: 'me: gateway / plain reply-from, in front of the users service',
    kind: 'rate-ratio',
    a: 'me.gateway',
    b: 'me.replyfrom',
  },
  {
    name: 'checkout through the gateway / pgbench TPC-B, transactions/s',
    kind: 'rate-ratio',
    a: 'checkout.gateway',
    b: 'checkout.pgbench',
    target: { op: '>=', threshold: 0.5 },
  },
  {
    name: 'checkout, orders service direct / pgbench TPC-B, transactions/s',
    kind: 'rate-ratio',
    a: 'checkout.direct',
    b: 'checkout.pgbench',
    target: { op: '>=', threshold: 0.6 },
  },
  {
    name: 'checkout, scale-out (2 orders instances)',
    kind: 'rate',
    a: 'checkout.gateway2',
    target: { op: '>=', threshold: 1000 },
    zeroErrors: true,
  },
  {
    name: 'checkout, scale-out (1 orders instance)',
    kind: 'rate',
    a: 'checkout.gateway',
    target: { op: '>=', threshold: 1000 },
    zeroErrors: true,
  },
  {
    name: 'checkout, embedded',
    kind: 'rate',
    a: 'checkout.embedded',
    target: { op: '>=', threshold: 300 },
    zeroErrors: true,
  },
  {
    name: 'list orders, scale-out (2 orders instances)',
    kind: 'rate',
    a: 'orders.gateway2',
    target: { op: '>=', threshold: 3000 },
    zeroErrors: true,
  },
  {
    name: 'list orders, scale-out (1 orders instance)',
    kind: 'rate',
    a: 'orders.gateway',
    target: { op: '>=', threshold: 3000 },
    zeroErrors: true,
  },
  ...(['me', 'product', 'orders', 'checkout', 'login'] as const).map(
    (key): RatioSpec => ({
      name: `${key}: 2 instances / 1 instance, through the gateway`,
      kind: 'rate-ratio',
      a: `${key}.gateway2`,
      b: `${key}.gateway`,
      ...(key === 'login' ? { note: 'CPU-bound, instances share both cores' } : {}),
    }),
  ),
  {
    name: 'login: 2 instances / 1 instance, through the gateway, one core per instance',
    kind: 'rate-ratio',
    a: 'login.pinned2',
    b: 'login.pinned',
    target: { op: '>', threshold: 1 },
    note: 'CPU-bound',
  },
  ...(['me', 'product', 'orders', 'checkout', 'login'] as const).map(
    (key): RatioSpec => ({
      name: `${key}: gateway / bare-Fastify ceiling`,
      kind: 'rate-ratio',
      a: `${key}.gateway`,
      b: `${key}.bare`,
    }),
  ),
  ...(['me', 'product', 'orders', 'checkout', 'login'] as const).map(
    (key): RatioSpec => ({
      name: `${key}: embedded / scale-out`,
      kind: 'rate-ratio',
      a: `${key}.embedded`,
      b: `${key}.gateway`,
    }),
  ),
];

export function machine() {
  let model = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) model = line.split(':')[1]!.trim();
  } catch {
    // not Linux
  }
  return {
    nproc: cpus().length,
    cpu: model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}
