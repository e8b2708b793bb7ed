/**
 * `npm run bench`: every scenario against the scale-out topology (separate processes on the machine's
 * PostgreSQL, Redis and NATS) and the embedded one (one process on PGlite), next to the baselines
 * (a bare Fastify handler returning the same bytes, the service without the gateway, nginx and a
 * plain @fastify/reply-from proxy in front of the same service), in one run. Prints a table and the
 * ratios, writes bench/results/latest.json and regenerates the tables of docs/benchmarks.md.
 *
 *   npm run bench                  full run (BENCH_DURATION s per row, default 10, after 3 s of warm-up)
 *   npm run bench -- --quick       a smoke run: 2 s per row, results to bench/results/quick.json only
 *   npm run bench -- --only me,checkout   only these scenarios (me, proxy, product, orders, checkout, login)
 *   npm run bench -- --topology embedded  only one topology (scale-out or embedded)
 *
 * The load generator (autocannon) runs in this process; every server is another process. The parts
 * live in `bench/run/`: shared set-up and `measure`, the scenarios, each topology, the report.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ensureNginx } from './lib/nginx.ts';
import { root } from './lib/processes.ts';
import { computeRatios, ratiosTable, replaceSection, resultsTable, rowsWithErrors } from './lib/report.ts';
import { embedded } from './run/embedded.ts';
import { machine, ratioSpecs } from './run/report.ts';
import { scaleOut } from './run/scale-out.ts';
import {
  cleanUp,
  connections,
  dir,
  log,
  notes,
  partial,
  quick,
  rows,
  seconds,
  topologies,
  warmupSeconds,
} from './run/setup.ts';

async function main(): Promise<void> {
  const started = new Date();
  const info = machine();
  const loadBefore = loadavg()[0]!;
  log(
    `Armature bench${quick ? ' (quick)' : ''}: ${connections} connections, ${seconds} s per row after ${warmupSeconds} s of warm-up`,
  );
  log(
    `machine: ${info.nproc} × ${info.cpu}, ${info.memoryGiB} GiB, Node ${info.node}; load average ${loadBefore.toFixed(2)}`,
  );
  log(
    `the load generator (autocannon) runs in this process and shares the ${info.nproc} cores with the servers; services log at warn`,
  );
  if (loadBefore > 1.5)
    notes.push(
      `the load average was ${loadBefore.toFixed(2)} when the run started: other work shared the machine`,
    );
  const nginx = ensureNginx(log);
  if (nginx.reason) {
    notes.push(`no nginx rows: ${nginx.reason}`);
    log(`nginx: ${nginx.reason}`);
  }
  try {
    if (topologies.has('scale-out')) await scaleOut(nginx.path);
    if (topologies.has('embedded')) await embedded();
  } finally {
    await cleanUp();
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg()[0]!;
  const ratios = computeRatios(rows, ratioSpecs).filter((ratio) => Number.isFinite(ratio.value));
  for (const row of rowsWithErrors(rows))
    notes.push(`${row.id}: ${row.errors} errors (${JSON.stringify(row.statuses)})`);

  const table = resultsTable(rows);
  const ratioTable = ratiosTable(ratios);
  log(`\n${table}\n\n${ratioTable}\n`);
  for (const note of notes) log(`note: ${note}`);

  const report = {
    date: started.toISOString(),
    quick,
    settings: {
      connections,
      seconds,
      warmupSeconds,
      loadGenerator: 'autocannon (in the bench process)',
      logLevel: 'warn',
    },
    machine: { ...info, loadAverageBefore: loadBefore, loadAverageAfter: loadAfter },
    rows,
    ratios,
    notes,
  };
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', quick || partial ? 'quick.json' : 'latest.json');
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`written: ${file}`);
  if (quick || partial) return;

  const docPath = join(root, 'docs/benchmarks.md');
  let doc = readFileSync(docPath, 'utf8');
  doc = replaceSection(
    doc,
    'machine',
    [
      `Run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC: ${info.nproc} cores (\`nproc\`) of an ${info.cpu},`,
      `${info.memoryGiB} GiB of memory, Node ${info.node}, ${info.platform}; load average ${loadBefore.toFixed(2)} at the start and`,
      `${loadAfter.toFixed(2)} at the end. ${connections} connections, ${seconds} s per row after ${warmupSeconds} s of warm-up; the load`,
      'generator runs on the same two cores as every server.',
    ].join('\n'),
  );
  doc = replaceSection(doc, 'results', table);
  doc = replaceSection(doc, 'ratios', ratioTable);
  doc = replaceSection(doc, 'notes', notes.length ? notes.map((note) => `- ${note}`).join('\n') : '- none');
  writeFileSync(docPath, doc);
  log(`updated: ${docPath}`);
}

let stopping = false;
process.on('SIGINT', () => {
  if (stopping) process.exit(130);
  stopping = true;
  log('interrupted: stopping the servers and dropping the bench databases (again to force)');
  cleanUp().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  });
});

await main();
// Keep-alive sockets of the seeding fetches must not hold the process open.
process.exit(0);
