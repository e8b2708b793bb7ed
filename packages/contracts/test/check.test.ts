import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repository = fileURLToPath(new URL('../../../', import.meta.url));

interface Run {
  code: number;
  output: string;
}

/** Runs the generator (`npm run contracts:generate` / `contracts:check`) in a copy of the repository. */
function generate(root: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'packages/contracts/scripts/generate-openapi.ts'), ...args],
      { cwd: root },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr }),
    );
  });
}

let root: string;
beforeAll(async () => {
  // Just what the generator reads and writes, plus the installed packages.
  root = await mkdtemp(join(tmpdir(), 'armature-contract-check-'));
  await cp(join(repository, 'package.json'), join(root, 'package.json'));
  for (const folder of ['src', 'scripts']) {
    await cp(join(repository, 'packages/contracts', folder), join(root, 'packages/contracts', folder), {
      recursive: true,
    });
  }
  await cp(
    join(repository, 'packages/contracts/openapi.json'),
    join(root, 'packages/contracts/openapi.json'),
  );
  await mkdir(join(root, 'packages/client/src'), { recursive: true });
  await cp(
    join(repository, 'packages/client/src/schema.d.ts'),
    join(root, 'packages/client/src/schema.d.ts'),
  );
  await symlink(join(repository, 'node_modules'), join(root, 'node_modules'), 'dir');
  // Start from artifacts that match the copied schemas (whether the repository's own are fresh is
  // what CI's `npm run contracts:check` answers).
  const generated = await generate(root);
  if (generated.code !== 0) throw new Error(`contracts:generate failed:\n${generated.output}`);
}, 120_000);
afterAll(() => rm(root, { recursive: true, force: true }));

describe('contracts:check', () => {
  it('passes when openapi.json and the client types match the schemas', async () => {
    const run = await generate(root, '--check');
    expect(run.output).toContain('match the contract');
    expect(run.code).toBe(0);
  }, 120_000);

  it('fails, naming the stale files and the fix, when a schema changed without regenerating', async () => {
    const health = join(root, 'packages/contracts/src/health.ts');
    const source = await readFile(health, 'utf8');
    await writeFile(
      health,
      source.replace("summary: 'Liveness probe: the process is up'", "summary: 'Is it up?'"),
    );

    const stale = await generate(root, '--check');
    expect(stale.code).toBe(1);
    expect(stale.output).toContain('packages/contracts/openapi.json differs from the contract');
    expect(stale.output).toContain('packages/client/src/schema.d.ts differs from the contract');
    expect(stale.output).toContain('Run `npm run contracts:generate`');

    expect((await generate(root)).code).toBe(0);
    const fresh = await generate(root, '--check');
    expect(fresh.code).toBe(0);
    expect(await readFile(join(root, 'packages/contracts/openapi.json'), 'utf8')).toContain('"Is it up?"');
  }, 120_000);
});
