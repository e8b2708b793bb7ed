import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function run(script: string, env: Record<string, string>, args: string[] = []) {
  const child = spawn(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return {
    child,
    output: () => ({ stdout, stderr }),
    exited: once(child, 'exit').then(([code]) => code as number),
  };
}

function waitFor(child: ChildProcess, text: RegExp): Promise<RegExpExecArray> {
  // Listen rather than iterate: leaving an async iterator early would destroy the child's stdout.
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk;
      const match = text.exec(seen);
      if (match) {
        child.stdout!.off('data', onData);
        resolve(match);
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', () => reject(new Error(`process ended before printing ${text}`)));
  });
}

describe('starting with a bad configuration', () => {
  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['USERS_DATABASE_URL', 'mysql://localhost/users'],
    ['USERS_DATABASE_URL', 'not a url'],
    ['RATE_LIMIT_MAX_REQUESTS', '-5'],
  ])('stops with one line naming %s when it is "%s"', async (variable, value) => {
    const started = run('packages/cli/src/armature.ts', { [variable]: value }, ['start']);
    const code = await started.exited;
    const { stderr } = started.output();
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(variable);
  });
});

describe('graceful shutdown', () => {
  it('lets a slow request in flight finish when SIGTERM arrives, then exits 0', async () => {
    const started = run('packages/platform/test/fixtures/slow-server.ts', {});
    const [, url] = await waitFor(started.child, /listening (\S+)/);
    const inFlight = fetch(`${url}/slow`).then(async (response) => ({
      status: response.status,
      body: await response.json(),
    }));
    await waitFor(started.child, /slow request started/);
    started.child.kill('SIGTERM');
    const [response, code] = await Promise.all([inFlight, started.exited]);
    expect(response).toEqual({ status: 200, body: { finished: true } });
    expect(code).toBe(0);
    expect(started.output().stdout).toContain('closed cleanly');
  });

  it('refuses new connections once shutdown has begun', async () => {
    const started = run('packages/platform/test/fixtures/slow-server.ts', {});
    const [, url] = await waitFor(started.child, /listening (\S+)/);
    const inFlight = fetch(`${url}/slow`);
    await waitFor(started.child, /slow request started/);
    started.child.kill('SIGTERM');
    // While the slow request is still in flight, a new connection is refused.
    await vi.waitFor(
      () => expect(fetch(`${url}/health/live`, { headers: { connection: 'close' } })).rejects.toThrow(),
      { timeout: 1000, interval: 20 },
    );
    expect((await inFlight).status).toBe(200);
    expect(await started.exited).toBe(0);
  });
});
