#!/usr/bin/env node
/**
 * `npm run chaos -- --duration 10m --seed 7`: the scale-out topology under steady mixed traffic while
 * faults drawn from the seed break it (processes killed, PostgreSQL restarted, Redis and NATS stopped,
 * the network between services and their dependencies degraded), several at a time; then, with every
 * fault healed and every backlog drained, the invariants, printed as a table. Exit code 1 if any fails.
 * See docs/reliability.md.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { checkAll, type FaultWindow, table, unhandledEvents } from './invariants.ts';
import { type Answer, emptyLedger, Load } from './load.ts';
import { describeFault, drawSchedule, type Fault, parseDuration } from './schedule.ts';
import { backlog, takeSnapshot } from './snapshot.ts';
import { closeTopology, startTopology, type Topology } from './topology.ts';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60s' },
    seed: { type: 'string', default: '1' },
    shoppers: { type: 'string', default: '6' },
    'fault-gap': { type: 'string', default: '8s' },
    logs: { type: 'string' },
  },
});

const durationMs = parseDuration(values.duration!);
const seed = Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got "${values.seed}"`);
/** How long after a heal errors still count as the fault's (the system noticing it is back). */
const graceMs = 20_000;
/** Every gateway's `/health` must be `healthy` again within this long after the last heal. */
const healthBoundMs = 120_000;
/** The backlogs must drain within this long once the traffic stops. */
const drainBoundMs = 300_000;

const began = Date.now();
const stamp = () => `[${((Date.now() - began) / 1000).toFixed(1).padStart(6)} s]`;
const say = (line: string) => process.stdout.write(`${stamp()} ${line}\n`);

const processes = [
  'gateway-1',
  'gateway-2',
  'users-1',
  'users-2',
  'orders-1',
  'orders-2',
  'payments-1',
  'payments-2',
];
const proxies = ['users-db', 'orders-db', 'payments-db', 'redis', 'nats'];
const schedule = drawSchedule({
  seed,
  durationMs,
  targets: { processes, proxies },
  meanGapMs: parseDuration(values['fault-gap']!),
});

process.stdout.write(
  `chaos: seed ${seed}, duration ${durationMs / 1000} s, ${schedule.length} faults, load average ${loadavg()
    .map((v) => v.toFixed(2))
    .join(' ')}\nschedule:\n${schedule
    .map((fault) => `  ${(fault.at / 1000).toFixed(1).padStart(6)} s  ${describeFault(fault)}`)
    .join('\n')}\n`,
);

let topology: Topology | undefined;
let interrupted = false;
const shutdown = async (signal: string) => {
  if (interrupted) return;
  interrupted = true;
  say(`${signal}: stopping everything the run started`);
  await closeTopology();
  process.exit(130);
};
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Restarts a killed process, again and again while its dependencies are down, until it is ready. */
async function restartProcess(system: Topology, name: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await system.cluster.restart(name);
      return;
    } catch (error) {
      // One that started but never became ready is stopped before the next try takes its port.
      await system.cluster.kill(name, 'SIGKILL');
      if (attempt >= 20) throw error;
      say(`  ${name} did not come back (${(error as Error).message.split('\n')[0]}); retrying`);
      await sleep(2000);
    }
  }
}

async function inject(system: Topology, fault: Fault): Promise<void> {
  switch (fault.kind) {
    case 'kill':
      await system.cluster.kill(fault.target, 'SIGKILL');
      await sleep(fault.holdMs);
      await restartProcess(system, fault.target);
      return;
    case 'postgres-restart':
      await system.postgres.stop(fault.stopMode);
      await sleep(fault.holdMs);
      await system.postgres.start();
      return;
    case 'redis-stop':
    case 'nats-stop': {
      const server = fault.kind === 'redis-stop' ? system.redis : system.nats;
      await server.stop('SIGKILL');
      await sleep(fault.holdMs);
      await server.start();
      return;
    }
    default: {
      const proxy = system.proxies.get(fault.target)!;
      proxy.set(fault.mode!, { latencyMs: fault.latencyMs });
      await sleep(fault.holdMs);
      proxy.set('pass');
    }
  }
}

async function healthyWithin(system: Topology, boundMs: number): Promise<number | undefined> {
  const from = Date.now();
  while (Date.now() - from <= boundMs) {
    const states = await Promise.all(
      system.gatewayUrls.map(async (url) => {
        try {
          const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
          return ((await response.json()) as { status?: string }).status;
        } catch {
          return 'down';
        }
      }),
    );
    if (states.every((state) => state === 'healthy')) return Date.now() - from;
    await sleep(500);
  }
  return undefined;
}

async function main(): Promise<number> {
  const logDir = values.logs;
  say('starting PostgreSQL, Redis, NATS, the fault proxies and the cluster');
  topology = await startTopology({
    logDir,
    log: say,
    env: { ORDER_PAYMENT_TIMEOUT: '60', PAYMENTS_WORKER_INTERVAL_MS: '500' },
  });
  const system = topology;
  const ledger = emptyLedger();
  const counts = new Map<string, number>();
  const load = new Load({
    gateways: system.gatewayUrls,
    admin: system.admin,
    seed,
    shoppers: Number(values.shoppers),
    products: 6,
    stock: 100_000,
    ledger,
    onAnswer: (answer: Answer) => {
      const key = answer.status === 0 ? 'none' : String(answer.status);
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
  });
  await load.setup();
  say(`seeded 6 products; traffic for ${durationMs / 1000} s from ${values.shoppers} shoppers and an admin`);
  const loadStart = Date.now();
  // Answers are timed from the load's start; setup answers (before it) are outside any fault and fine.
  const setupAnswers = ledger.answers.length;
  load.start();
  const windows: FaultWindow[] = [];
  // A restart can take longer than the schedule's pause on a busy machine: a fault whose target is
  // still being healed waits for it (one fault per target at a time, as the schedule means).
  const busy = new Map<string, Promise<unknown>>();
  const running = schedule.map(async (fault, index) => {
    const wait = loadStart + fault.at - Date.now();
    if (wait > 0) await sleep(wait);
    while (busy.has(fault.target)) await busy.get(fault.target)!.catch(() => undefined);
    let release = () => {};
    busy.set(
      fault.target,
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    );
    const late = Date.now() - loadStart - fault.at;
    const from = Date.now() - loadStart;
    if (late > 1000)
      say(`fault ${index + 1} starts ${(late / 1000).toFixed(1)} s late: its target was still healing`);
    say(`fault ${index + 1}/${schedule.length}: ${describeFault(fault)}`);
    try {
      await inject(system, fault);
    } catch (error) {
      say(`fault ${index + 1}: healing failed: ${(error as Error).message.split('\n')[0]}`);
      throw error;
    } finally {
      busy.delete(fault.target);
      release();
    }
    const to = Date.now() - loadStart;
    windows.push({ from, to: to + graceMs, target: fault.target });
    say(`fault ${index + 1} healed (${((to - from) / 1000).toFixed(1)} s)`);
  });
  const progress = setInterval(() => {
    const line = [...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status} ×${n}`)
      .join(', ');
    say(`answers: ${line}`);
  }, 10_000);
  // From the last heal on, every gateway's /health is watched while the traffic goes on.
  const healedAll = Promise.allSettled(running);
  const health = healedAll.then(() => healthyWithin(system, healthBoundMs));
  await sleep(durationMs);
  const healed = await healedAll;
  const failedHeals = healed.filter((outcome) => outcome.status === 'rejected').length;
  await load.stop();
  clearInterval(progress);
  say(
    `traffic stopped: ${ledger.answers.length - setupAnswers} answers; every fault healed${failedHeals ? ` except ${failedHeals}` : ''}`,
  );
  const recoveredMs = await health;
  say(
    recoveredMs === undefined
      ? `/health not healthy within ${healthBoundMs / 1000} s of the last heal`
      : `/health healthy on every gateway ${(recoveredMs / 1000).toFixed(1)} s after the last heal`,
  );

  const drain = async (what: string) => {
    const deadline = Date.now() + drainBoundMs;
    let left: Record<string, number> = {};
    while (Date.now() < deadline) {
      left = await backlog(system.databaseUrl);
      if (Object.values(left).every((n) => n === 0)) {
        // Published is not yet consumed: wait for every consumer's inbox too (redeliveries back off).
        left['events not yet handled'] = unhandledEvents(
          await takeSnapshot(system.databaseUrl, system.simulatorUrl),
        );
        if (left['events not yet handled'] === 0) {
          say(`${what}: backlogs drained`);
          return;
        }
      }
      await sleep(1000);
    }
    say(`${what}: backlogs not drained within ${drainBoundMs / 1000} s: ${JSON.stringify(left)}`);
  };
  await drain('after the traffic');
  await load.restock(25);
  await drain('after restocking');
  // The consumers' inboxes are written in the same transaction as their effects; a second look
  // after a short pause catches any event still on its way from the stream.
  await sleep(3000);

  const snapshot = await takeSnapshot(system.databaseUrl, system.simulatorUrl);
  const loadAnswers = ledger.answers.slice(setupAnswers);
  // Restocks and closing reads come after the last fault, outside every window, as they must.
  const results = checkAll(snapshot, { ...ledger, answers: loadAnswers }, windows, {
    recoveredMs,
    boundMs: healthBoundMs,
  });
  const faultsBy = new Map<string, number>();
  for (const fault of schedule) faultsBy.set(fault.kind, (faultsBy.get(fault.kind) ?? 0) + 1);
  process.stdout.write(
    `\nseed ${seed}, ${durationMs / 1000} s, ${schedule.length} faults (${[...faultsBy.entries()]
      .map(([kind, n]) => `${kind} ${n}`)
      .join(', ')}), answers ${[...counts.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([status, n]) => `${status} ×${n}`)
      .join(', ')}, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}\n\n${table(results)}\n`,
  );
  // What was refused or failed, by operation and code: the 4xx the load expects (an empty cart, stock
  // taken by another, a stale version) beside anything it does not.
  const refusals = new Map<string, number>();
  for (const answer of loadAnswers) {
    if (answer.status < 400 && answer.status !== 0) continue;
    const key = `${answer.op} ${answer.status || 'none'} ${answer.code ?? ''}`.trim();
    refusals.set(key, (refusals.get(key) ?? 0) + 1);
  }
  process.stdout.write(
    `
answers other than 2xx, by operation:
${[...refusals.entries()]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([key, n]) => `  ${key} ×${n}`)
  .join('\n')}
`,
  );
  for (const result of results.filter((r) => !r.pass)) {
    process.stdout.write(`\n${result.name}:\n${result.problems.map((p) => `  - ${p}`).join('\n')}\n`);
  }
  return results.every((result) => result.pass) && failedHeals === 0 ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (error) {
  process.stderr.write(`chaos run failed: ${(error as Error).stack ?? error}\n`);
} finally {
  await topology?.close();
}
process.exit(code);
