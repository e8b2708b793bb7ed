import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { inject } from 'vitest';
import { chromiumArgs } from './browser.ts';

/**
 * What a suite that drives Chromium needs: its options (skipped, with the reason and the fixing
 * command, where the run could not get a browser — but failing under CI=true) and a launcher.
 */
export function browserSuite() {
  const browser = inject('browser');
  const missing = 'missing' in browser ? browser.missing : undefined;
  return {
    skip: Boolean(missing) && process.env.CI !== 'true',
    meta: { skipReason: `no browser: ${missing}` },
  };
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Headless Chromium with a throwaway profile, removed on close. */
export async function launchBrowser(): Promise<Browser> {
  const browser = inject('browser');
  if ('missing' in browser) throw new Error(browser.missing);
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: browser.executablePath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1440, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
