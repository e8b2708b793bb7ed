import { readFileSync } from 'node:fs';

/** The release version reported by `/health`, read once from the root package.json. */
export const serviceVersion: string = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
