import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The embedded system's memory depends on the Node flags it starts with (see "Running embedded in
 * production" in docs/deployment.md). `npm start` holds them; the image must start the same way.
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const startScript = (
  JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }
).scripts.start!;

describe('the Node flags of the embedded start', () => {
  it('npm start passes Node its memory flags before the CLI', () => {
    expect(startScript.split(' ')).toEqual([
      'node',
      '--max-semi-space-size=8',
      '--v8-pool-size=1',
      'packages/cli/src/armature.ts',
      'start',
    ]);
  });

  it('the image starts embedded with exactly the command of npm start', () => {
    const dockerfile = readFileSync(`${root}Dockerfile`, 'utf8');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const command = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect([...entrypoint, ...command].join(' ')).toBe(startScript);
  });
});
