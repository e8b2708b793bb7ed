import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Every workspace declares in its own package.json each package its code imports, instead of
 * leaning on what npm happens to hoist to the root: a service can then be installed, built into an
 * image or moved out on its own. Test-only imports belong in devDependencies.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const rootManifest = readManifest(root);
const workspaces = (rootManifest.workspaces as string[]).flatMap((pattern) =>
  pattern.endsWith('/*')
    ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => `${pattern.slice(0, -2)}/${name}`)
    : [pattern],
);

/** Tests, test support and build configuration (`vite.config.js`): they may use devDependencies. */
const isTest = (file: string) =>
  /(\.test\.ts|\/test\/|\/testing\/|testing\.ts|test-support|\.config\.[jt]s$)/.test(file);

/** The import specifiers of a file: static imports and re-exports, and dynamic imports of literals. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm))
    found.push(match[1]!);
  for (const match of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) found.push(match[1]!);
  for (const match of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found;
}

function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:'))
    return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function sourceFiles(dir: string, skip: string[] = []): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || skip.includes(path)) return [];
    if (statSync(path).isDirectory()) return sourceFiles(path, skip);
    return /\.(ts|js|mjs)$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

function readManifest(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
}

/** Imports a workspace makes that its manifest does not declare, as `package (file)`. */
function undeclared(dir: string, files: string[]): string[] {
  const manifest = readManifest(dir);
  const runtime = new Set([manifest.name as string, ...Object.keys((manifest.dependencies as object) ?? {})]);
  const development = new Set([...runtime, ...Object.keys((manifest.devDependencies as object) ?? {})]);
  const missing = new Set<string>();
  for (const file of files) {
    const declared = isTest(file) ? development : runtime;
    for (const name of importsOf(file).map(packageOf)) {
      if (name && !declared.has(name)) missing.add(`${name} (${file.slice(root.length)})`);
    }
  }
  return [...missing].sort();
}

describe('package manifests', () => {
  for (const workspace of workspaces.filter((dir) => existsSync(join(root, dir, 'package.json')))) {
    it(`${workspace} declares every package it imports`, () => {
      const dir = join(root, workspace);
      const nested = workspaces
        .map((other) => join(root, other))
        .filter((other) => other.startsWith(`${dir}/`));
      expect(undeclared(dir, sourceFiles(dir, nested))).toEqual([]);
    });
  }

  it('the root declares what its shared tests and scripts import', () => {
    const files = [
      ...sourceFiles(
        join(root, 'test'),
        workspaces.map((dir) => join(root, dir)),
      ),
      ...['vitest.config.ts', 'vitest.unit.config.ts'].map((file) => join(root, file)),
    ];
    const manifest = readManifest(root);
    const declared = new Set([
      ...Object.keys((manifest.dependencies as object) ?? {}),
      ...Object.keys((manifest.devDependencies as object) ?? {}),
    ]);
    const missing = files.flatMap((file) =>
      importsOf(file)
        .map(packageOf)
        .filter((name): name is string => Boolean(name) && !declared.has(name!))
        .map((name) => `${name} (${file.slice(root.length)})`),
    );
    expect([...new Set(missing)].sort()).toEqual([]);
  });

  it('exports only files that exist', () => {
    for (const workspace of workspaces) {
      const dir = join(root, workspace);
      if (!existsSync(join(dir, 'package.json'))) continue;
      // A target is a path or, per condition (`types`, `import`), an object of paths.
      const targetsOf = (entry: unknown): string[] =>
        typeof entry === 'string' ? [entry] : Object.values((entry as object) ?? {}).flatMap(targetsOf);
      const targets = targetsOf(readManifest(dir).exports);
      for (const target of targets.filter((path) => !path.includes('*'))) {
        expect(existsSync(join(dir, target)), `${workspace} exports ${target}`).toBe(true);
      }
    }
  });
});
