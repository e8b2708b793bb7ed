import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serviceCatalog } from '@armature/contracts/services';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScaffoldError, scaffoldNames } from './new-service.ts';
import { copyWorkspace } from './workspace-copy.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('the names a new service gets', () => {
  it('derives the resource, its path, id prefix and port from the service name', () => {
    expect(scaffoldNames({ name: 'notes' })).toMatchObject({
      service: 'notes',
      SERVICE: 'NOTES',
      resource: 'note',
      Resource: 'Note',
      resources: 'notes',
      prefix: 'not',
      // The next port after the catalog's highest.
      port: String(Math.max(...serviceCatalog.map((entry) => entry.port)) + 1),
    });
  });

  it('refuses a taken or malformed name, a served path and a taken id prefix, saying what to pass', () => {
    expect(() => scaffoldNames({ name: 'orders' })).toThrow(ScaffoldError);
    expect(() => scaffoldNames({ name: 'gateway' })).toThrow(/taken/);
    expect(() => scaffoldNames({ name: 'Order-Notes' })).toThrow(/one lowercase word/);
    expect(() => scaffoldNames({ name: 'catalog', resources: 'products' })).toThrow(/--resources/);
    expect(() => scaffoldNames({ name: 'tickets', prefix: 'usr' })).toThrow(/--prefix/);
  });
});

/**
 * The scaffold, end to end, in a throwaway copy of the repository: generate a service, then its own
 * tests (through the gateway, in this run's mode), the type check and the linter must pass there.
 */
describe('npm run new:service in a copy of the repository', () => {
  let copy: string;
  beforeAll(() => {
    copy = mkdtempSync(join(tmpdir(), 'armature-new-service-'));
    copyWorkspace(root, copy);
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('generates a service whose tests, type check and lint pass as generated', {
    timeout: 600_000,
  }, async () => {
    const node = process.execPath;
    const generated = await run(node, ['packages/cli/src/new-service.ts', 'tickets', '--skip-install'], {
      cwd: copy,
    });
    expect(generated.stdout).toMatch(/Created \d+ files/);
    // What `npm install` would do for the new workspace.
    symlinkSync('../../services/tickets', join(copy, 'node_modules/@armature/tickets'));
    for (const file of ['http', 'domain', 'db', 'events/published'].map((f) => `services/tickets/src/${f}`)) {
      expect(existsSync(join(copy, file)), file).toBe(true);
    }
    const openapi = JSON.parse(readFileSync(join(copy, 'packages/contracts/openapi.json'), 'utf8'));
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/v1/tickets', '/v2/tickets/{id}']));
    expect(readFileSync(join(copy, 'compose.yaml'), 'utf8')).toMatch(
      /TICKETS_SERVICE_URLS: http:\/\/tickets:\d+/,
    );
    expect(existsSync(join(copy, 'deploy/k8s/tickets.yaml'))).toBe(true);

    await run(node, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], { cwd: copy });
    await run(node, ['node_modules/@biomejs/biome/bin/biome', 'check', '.'], { cwd: copy });
    // The contract's own rules (prefixed ids, resource paths, …) hold for the new operations too.
    await run(
      node,
      [
        'node_modules/@stoplight/spectral-cli/dist/index.js',
        'lint',
        'packages/contracts/openapi.json',
        '--ruleset',
        'packages/contracts/spectral/ruleset.yaml',
        '--fail-severity',
        'error',
      ],
      { cwd: copy },
    );
    const tests = await run(
      node,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        'services/tickets',
        'test/deploy',
        'test/events-migration.test.ts',
        'test/idempotency-schema.test.ts',
        'test/manifests.test.ts',
        'services/gateway/src/routes.test.ts',
      ],
      { cwd: copy, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
    );
    // Every file passed (the count grows with the suites named above).
    expect(tests.stdout).toMatch(/Test Files\s+(\d+) passed \(\1\)/);
    expect(tests.stdout).toMatch(/Skipped tests: none/);
  });
});
