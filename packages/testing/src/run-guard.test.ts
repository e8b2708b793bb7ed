import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { leftovers, removeRun, sweepAbandonedRuns, type TestRun } from './run-guard.ts';

/** A run of our own inside this run's temporary folder, so the real one is never touched. */
function fakeRun(base: string, name: string): TestRun {
  const folder = join(base, `armature-test-run-${name}`);
  const tmp = join(folder, 'tmp');
  mkdirSync(tmp, { recursive: true });
  return { id: `armature-test-run-${name}`, folder, tmp };
}

function markedSleeper(run: TestRun): ChildProcess {
  return spawn('sleep', ['60'], {
    env: { ...process.env, ARMATURE_TEST_RUN: run.id },
    stdio: 'ignore',
    detached: true,
  });
}

const started: ChildProcess[] = [];
const bases: string[] = [];
afterEach(async () => {
  for (const child of started.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const base of bases.splice(0)) await rm(base, { recursive: true, force: true });
});

function base(): string {
  const folder = mkdtempSync(join(tmpdir(), 'guard-'));
  bases.push(folder);
  return folder;
}

const linuxOnly = {
  skip: process.platform !== 'linux',
  meta: { skipReason: 'the guard reads /proc: Linux only' },
};

describe('the test-run guard', linuxOnly, () => {
  it('names a process the run started that outlived it, even detached, and the folders left in its temp', async () => {
    const run = fakeRun(base(), 'names');
    const child = markedSleeper(run);
    started.push(child);
    mkdirSync(join(run.tmp, 'nats-store'));
    await expect.poll(() => leftovers(run).processes.map(({ pid }) => pid)).toContain(child.pid);
    expect(leftovers(run).processes.find(({ pid }) => pid === child.pid)?.command).toBe('sleep 60');
    expect(leftovers(run).paths).toEqual([join(run.tmp, 'nats-store')]);

    const exited = once(child, 'exit');
    removeRun(run);
    await exited;
    expect(existsSync(run.folder)).toBe(false);
  });

  it('sweeps a run whose owner died without cleaning up: its processes and its folder', async () => {
    const folder = base();
    const abandoned = fakeRun(folder, 'abandoned');
    const gone = spawn('true');
    await once(gone, 'exit');
    writeFileSync(join(abandoned.folder, 'owner'), String(gone.pid));
    const orphan = markedSleeper(abandoned);
    started.push(orphan);
    const live = fakeRun(folder, 'live');
    writeFileSync(join(live.folder, 'owner'), String(process.pid));

    const exited = once(orphan, 'exit');
    sweepAbandonedRuns(folder);
    await exited;
    expect(existsSync(abandoned.folder)).toBe(false);
    expect(existsSync(live.folder), 'a run whose owner lives is left alone').toBe(true);
  });
});
