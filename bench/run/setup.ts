import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchRequest, type LoadOptions, type LoadResult, runLoad } from '../lib/load.ts';
import { type CpuProbe, type Server, selfProbe, stopServer } from '../lib/processes.ts';
import type { Measurement, Row } from '../lib/report.ts';

/** What every part of the bench run shares: its flags, its run id and folder, the rows it collects, its clean-up, and `measure`. */

export const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    topology: { type: 'string' },
  },
});
export const quick = flags.quick;
export const seconds = quick ? 2 : Number(process.env.BENCH_DURATION ?? 10);
export const warmupSeconds = quick ? 1 : Number(process.env.BENCH_WARMUP ?? 3);
export const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
export const scenarioKeys = ['me', 'proxy', 'product', 'orders', 'checkout', 'login'] as const;
export const selected = new Set(flags.only ? flags.only.split(',').map((key) => key.trim()) : scenarioKeys);
for (const key of selected) {
  if (!(scenarioKeys as readonly string[]).includes(key)) {
    process.stderr.write(`--only takes a list of ${scenarioKeys.join(', ')}; got "${key}"\n`);
    process.exit(2);
  }
}

export const topologies = new Set(flags.topology ? [flags.topology] : ['scale-out', 'embedded']);
if (flags.topology && !['scale-out', 'embedded'].includes(flags.topology)) {
  process.stderr.write(`--topology is scale-out or embedded; got "${flags.topology}"\n`);
  process.exit(2);
}
export const partial = Boolean(flags.only || flags.topology);

export const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
export const dir = mkdtempSync(join(tmpdir(), 'armature-bench-'));
export const admin = { email: `bench-admin-${runId}@example.com`, password: `bench admin password ${runId}` };
export const log = (line: string) => process.stdout.write(`${line}\n`);
export const notes: string[] = [];
export const rows: Row[] = [];
export const servers: Server[] = [];
/** What to undo, latest first: stop processes, drop databases, delete keys (also on Ctrl-C). */
export const cleanups: Array<() => Promise<unknown>> = [];
export async function cleanUp(): Promise<void> {
  for (const server of servers.splice(0).reverse()) await stopServer(server);
  for (const step of cleanups.splice(0).reverse()) {
    await step().catch((error: unknown) => notes.push(`clean-up failed: ${String(error)}`));
  }
}
export const loadgen = selfProbe('load generator');

/** Settings every process of the bench shares: quiet logs, limits far above the load, long tokens. */
export const commonEnv: Record<string, string> = {
  LOG_LEVEL: 'warn',
  RATE_LIMIT_MAX_REQUESTS: '10000000',
  LOGIN_RATE_LIMIT_MAX_REQUESTS: '10000000',
  RATE_LIMIT_KEY_PREFIX: `armature:bench:${runId}:`,
  ACCESS_TOKEN_TTL_SECONDS: '3600',
  ADMIN_EMAIL: admin.email,
  ADMIN_PASSWORD: admin.password,
  CURSOR_SECRET: `bench-cursor-secret-${runId}`,
};

/** The environment without any adapter URL, so a child picks only what it is given. */
export function baseEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const name of [
    'USERS_DATABASE_URL',
    'ORDERS_DATABASE_URL',
    'REDIS_URL',
    'NATS_URL',
    'USERS_SERVICE_URLS',
    'ORDERS_SERVICE_URLS',
    'PAYMENTS_SERVICE_URLS',
    'PORT',
    'USERS_PORT',
    'ORDERS_PORT',
  ])
    delete env[name];
  return env;
}

export interface Measure {
  id: string;
  scenario: string;
  target: string;
  origin: string;
  requests: BenchRequest[];
  perConnection?: (index: number) => BenchRequest[];
  operationStatus?: number;
  probes: CpuProbe[];
  expectsRefusals?: boolean;
  note?: string;
  /** Runs between the warm-up and the measured run (e.g. listing the PostgreSQL backends to watch). */
  before?: () => Promise<void>;
  /** Shorter than the others (the deliberate login limit needs no long run). */
  seconds?: number;
  /** A cached read: after the warm-up, one request must answer `X-Cache: HIT`. */
  cached?: boolean;
  /**
   * Writes whose requests depend on each other (a cart, then its checkout): the warm-up runs as
   * other users than the measured run, so that a request of the previous run still in flight when
   * it stopped cannot empty a cart the next run has just filled.
   */
  ownWarmupUsers?: boolean;
}

export async function measure(spec: Measure): Promise<Row> {
  const load: LoadOptions = {
    origin: spec.origin,
    requests: spec.requests,
    perConnection: spec.perConnection,
    connections,
    seconds: warmupSeconds,
    operationStatus: spec.operationStatus,
  };
  const perConnection = spec.perConnection;
  const warm = await runLoad(
    spec.ownWarmupUsers && perConnection
      ? { ...load, perConnection: (index) => perConnection(index + connections) }
      : load,
  );
  let cache: string | undefined;
  if (spec.cached && !spec.id.endsWith('.bare')) {
    const [request] = spec.perConnection ? spec.perConnection(0) : spec.requests;
    const response = await fetch(`${spec.origin}${request!.path}`, { headers: request!.headers });
    await response.arrayBuffer();
    cache = response.headers.get('x-cache') ?? 'none';
    if (cache !== 'HIT')
      notes.push(`${spec.id}: after the warm-up the answer was X-Cache: ${cache}, not HIT`);
  }
  await spec.before?.();
  const result = await runLoad({ ...load, seconds: spec.seconds ?? seconds, probes: spec.probes });
  const row: Row = {
    id: spec.id,
    scenario: spec.scenario,
    target: spec.target,
    ...result,
    ...(spec.expectsRefusals ? { expectsRefusals: true } : {}),
    ...(spec.note ? { note: spec.note } : {}),
    ...(cache ? { cache } : {}),
  };
  rows.push(row);
  const warmErrors = spec.expectsRefusals ? 0 : warm.errors;
  log(
    `  ${spec.id.padEnd(20)} ${Math.round(row.rate).toString().padStart(7)}/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  errors ${row.errors}${warmErrors ? ` (+${warmErrors} in warm-up)` : ''}`,
  );
  if (warmErrors)
    notes.push(
      `${spec.id}: ${warmErrors} non-2xx answers during its warm-up (${JSON.stringify(warm.statuses)})`,
    );
  return row;
}

/** Slices of one measurement combined: rates and CPU over the whole, percentiles the slices' mean. */
function combine(slices: LoadResult[]): Measurement {
  const operations = slices.reduce((sum, slice) => sum + slice.operations, 0);
  const requests = slices.reduce((sum, slice) => sum + slice.requests, 0);
  const total = slices.reduce((sum, slice) => sum + slice.seconds, 0);
  const mean = (pick: (slice: LoadResult) => number) =>
    slices.reduce((sum, slice) => sum + pick(slice), 0) / slices.length;
  const statuses: Record<string, number> = {};
  const cpu: Record<string, number> = {};
  for (const slice of slices) {
    for (const [status, count] of Object.entries(slice.statuses))
      statuses[status] = (statuses[status] ?? 0) + count;
    for (const [name, us] of Object.entries(slice.cpuPerOperationUs))
      cpu[name] = (cpu[name] ?? 0) + (us * slice.operations) / Math.max(1, operations);
  }
  return {
    rate: operations / total,
    requestsPerSecond: requests / total,
    operations,
    seconds: total,
    p50: mean((slice) => slice.p50),
    p99: mean((slice) => slice.p99),
    p999: mean((slice) => slice.p999),
    errors: slices.reduce((sum, slice) => sum + slice.errors, 0),
    statuses,
    cpuPerOperationUs: cpu,
  };
}

/**
 * Two targets compared on a shared machine: each gets the same time, in slices taken in turns
 * (A B B A A B …), so that a change in the machine's load while they run falls on both alike. For a
 * ratio that must be read to a few per cent (a feature on and off), where one row after the other
 * would mostly measure the other work on the machine.
 */
export async function measurePair(first: Measure, second: Measure, turns = 6): Promise<[Row, Row]> {
  const specs = [first, second];
  const base = (spec: Measure): LoadOptions => ({
    origin: spec.origin,
    requests: spec.requests,
    perConnection: spec.perConnection,
    connections,
    seconds: warmupSeconds,
  });
  for (const spec of specs) await runLoad(base(spec));
  const slices: LoadResult[][] = [[], []];
  const slice = (spec: Measure) => ({ ...base(spec), seconds: seconds / turns, probes: spec.probes });
  for (let turn = 0; turn < turns; turn++) {
    const order = turn % 2 === 0 ? [0, 1] : [1, 0];
    for (const index of order) slices[index]!.push(await runLoad(slice(specs[index]!)));
  }
  return specs.map((spec, index) => {
    const row: Row = {
      id: spec.id,
      scenario: spec.scenario,
      target: spec.target,
      ...combine(slices[index]!),
    };
    rows.push(row);
    log(
      `  ${spec.id.padEnd(20)} ${Math.round(row.rate).toString().padStart(7)}/s  p50 ${row.p50.toFixed(2)} ms  p99 ${row.p99.toFixed(2)} ms  errors ${row.errors}  (${turns} slices in turns)`,
    );
    return row;
  }) as [Row, Row];
}
