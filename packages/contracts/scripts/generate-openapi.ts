/**
 * Writes the contract's generated artifacts: `packages/contracts/openapi.json` and the typed client's
 * `packages/client/src/schema.d.ts` and `idempotent-operations.ts`. With `--check`, writes nothing and fails when a committed file
 * differs from what the contract produces now (CI runs it, so a schema change without regeneration
 * cannot land).
 *
 *   npm run contracts:generate
 *   npm run contracts:check
 */
import { readFile, writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderClientTypes, renderIdempotentOperations } from './client-types.ts';
import { buildOpenApi, renderOpenApi } from './openapi.ts';

const root = new URL('../../../', import.meta.url);
const targets = {
  openapi: new URL('packages/contracts/openapi.json', root),
  clientTypes: new URL('packages/client/src/schema.d.ts', root),
  idempotentOperations: new URL('packages/client/src/idempotent-operations.ts', root),
};

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const { version } = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as {
    version: string;
  };
  const openapi = renderOpenApi(buildOpenApi(undefined, { version }));
  const outputs: [URL, string][] = [
    [targets.openapi, openapi],
    [targets.clientTypes, await renderClientTypes(openapi)],
    [targets.idempotentOperations, renderIdempotentOperations(openapi)],
  ];

  if (!check) {
    for (const [file, text] of outputs) {
      await writeFile(file, text);
      console.log(`wrote ${display(file)}`);
    }
    return 0;
  }

  let stale = 0;
  for (const [file, text] of outputs) {
    const committed = await readFile(file, 'utf8').catch(() => undefined);
    if (committed === text) continue;
    stale += 1;
    const reason =
      committed === undefined
        ? 'is missing'
        : `differs from the contract (${firstDifference(committed, text)})`;
    console.error(`✗ ${display(file)} ${reason}`);
  }
  if (stale === 0) {
    console.log('✓ openapi.json and the client types match the contract');
    return 0;
  }
  console.error(
    '\nThe contract (packages/contracts/src) changed without regenerating its artifacts.\n' +
      'Run `npm run contracts:generate` and commit the result.',
  );
  return 1;
}

function display(file: URL): string {
  return relative(fileURLToPath(root), fileURLToPath(file));
}

function firstDifference(committed: string, generated: string): string {
  const before = committed.split('\n');
  const after = generated.split('\n');
  for (let line = 0; line < Math.max(before.length, after.length); line++) {
    if (before[line] !== after[line]) {
      return `line ${line + 1}: committed ${JSON.stringify(before[line]?.trim() ?? '<end of file>')}, expected ${JSON.stringify(after[line]?.trim() ?? '<end of file>')}`;
    }
  }
  return 'whitespace';
}

process.exitCode = await main();
