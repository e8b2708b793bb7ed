/**
 * Builds `@armature/client` for use outside this repository: ES modules and declarations in `dist/`,
 * for Node ≥ 20 and modern browsers (compiled without Node's types, so nothing Node-only slips in).
 * Runs at `npm ci` (the root's `prepare`) and before `npm pack`.
 *
 *   npm run build -w @armature/client
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const folder = fileURLToPath(new URL('..', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(`${folder}/dist`, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', `${folder}/tsconfig.build.json`], { stdio: 'inherit' });
// The contract's types are a declaration file already: tsc does not copy those.
copyFileSync(`${folder}/src/schema.d.ts`, `${folder}/dist/schema.d.ts`);
// tsc rewrites `./x.ts` to `./x.js` in JavaScript but not in declarations: do it there too, so any
// TypeScript project resolves them (`./schema.js` finds `schema.d.ts`).
for (const file of readdirSync(`${folder}/dist`).filter((name) => name.endsWith('.d.ts'))) {
  const path = `${folder}/dist/${file}`;
  const text = readFileSync(path, 'utf8');
  writeFileSync(path, text.replace(/(from\s+['"]\.\/[^'"]+?)(?:\.d)?\.ts(['"])/g, '$1.js$2'));
}
console.log('built @armature/client in packages/client/dist');
