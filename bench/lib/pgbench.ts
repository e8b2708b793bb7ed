import { spawnSync } from 'node:child_process';
import pg from 'pg';
import type { Row } from './report.ts';

/**
 * The database's own ceiling on this machine, in the same run: pgbench's TPC-B-like transaction
 * (three updates, a select and an insert per transaction, scale 10), with the bench's connection
 * count, in prepared mode, against a throwaway database on the same PostgreSQL. pgbench comes with
 * PostgreSQL's client packages (Debian: `postgresql-client`); without it the row is left out and
 * the run says so.
 */
export interface PgbenchOptions {
  /** An admin URL of the server (its database is only used to create and drop the bench's own). */
  adminUrl: string;
  database: string;
  connections: number;
  seconds: number;
  scenario: string;
}

export function pgbenchAvailable(): boolean {
  return spawnSync('pgbench', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function admin(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** pgbench's figures from its summary: transactions per second and the average latency. */
export function parsePgbenchOutput(output: string): { tps: number; latencyMs: number; transactions: number } {
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(output);
  const latency = /latency average = ([\d.]+) ms/.exec(output);
  const transactions = /number of transactions actually processed: (\d+)/.exec(output);
  const failed = /number of failed transactions: (\d+)/.exec(output);
  if (!tps || !latency || !transactions) throw new Error(`pgbench printed no summary:\n${output}`);
  if (failed && Number(failed[1]) > 0) throw new Error(`pgbench: ${failed[1]} transactions failed`);
  return { tps: Number(tps[1]), latencyMs: Number(latency[1]), transactions: Number(transactions[1]) };
}

export async function runPgbench(options: PgbenchOptions): Promise<Row> {
  const url = new URL(options.adminUrl);
  await admin(options.adminUrl, `drop database if exists "${options.database}" with (force)`);
  await admin(options.adminUrl, `create database "${options.database}"`);
  url.pathname = `/${options.database}`;
  const target = url.toString();
  try {
    const init = spawnSync('pgbench', ['-i', '-s', '10', '-q', target], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`pgbench -i failed:\n${init.stderr}`);
    const run = spawnSync(
      'pgbench',
      [
        '-M',
        'prepared',
        '-c',
        String(options.connections),
        '-j',
        '2',
        '-T',
        String(options.seconds),
        '-b',
        'tpcb-like',
        target,
      ],
      { encoding: 'utf8' },
    );
    if (run.status !== 0) throw new Error(`pgbench failed:\n${run.stderr}`);
    const { tps, latencyMs, transactions } = parsePgbenchOutput(run.stdout);
    return {
      id: 'checkout.pgbench',
      scenario: options.scenario,
      target: `pgbench TPC-B (scale 10, ${options.connections} connections, prepared): the database's own ceiling`,
      rate: tps,
      requestsPerSecond: tps,
      operations: transactions,
      seconds: options.seconds,
      // pgbench reports an average, not percentiles: the p50 column holds it.
      p50: latencyMs,
      p99: Number.NaN,
      p999: Number.NaN,
      errors: 0,
      statuses: {},
      cpuPerOperationUs: {},
      note: 'transactions per second; the p50 column is pgbench’s average latency',
    };
  } finally {
    await admin(options.adminUrl, `drop database if exists "${options.database}" with (force)`);
  }
}
