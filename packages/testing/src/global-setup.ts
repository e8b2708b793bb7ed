import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { beginRun, describeLeftovers, leftovers, removeRun, type TestRun } from './run-guard.ts';

/**
 * Once per test run, before any suite: tie the run's processes and temporary folders to it (see
 * run-guard.ts), prepare one empty PGlite cluster that `freshStore` copies (initdb takes seconds, a
 * copy a fraction of that). At the end, fail the run if anything it started is still there.
 */
export async function setup(project: { provide(key: 'pgliteTemplate', value: string): void }) {
  const startedIn = tmpdir();
  const run = beginRun();
  // Vitest keeps transformed modules in a folder of its own under the TMPDIR it started with, and
  // removes it only when it closes normally: an interrupted run removes it here.
  const runnerTemp = (project as { tmpDir?: unknown }).tmpDir;
  if (typeof runnerTemp === 'string' && runnerTemp.startsWith(startedIn)) {
    process.once('exit', () => rmSync(runnerTemp, { recursive: true, force: true }));
  }
  const { provide } = project;
  const template = join(run.folder, 'pglite-template');
  const client = await PGlite.create(template);
  await client.close();
  provide('pgliteTemplate', template);
  return () => finish(run);
}

/** Waits a moment for processes still stopping, then lists what is left, removes it, and fails if any. */
async function finish(run: TestRun): Promise<void> {
  let left = leftovers(run);
  for (let waited = 0; left.processes.length > 0 && waited < 5_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = leftovers(run);
  }
  removeRun(run);
  if (left.processes.length > 0 || left.paths.length > 0) {
    // A teardown that throws is only logged by Vitest: set the exit code ourselves.
    console.error(`\nFAIL: the test run left these behind (now removed):\n${describeLeftovers(left)}`);
    process.exitCode = 1;
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}
