import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOperations } from '../../packages/contracts/src/all-operations.ts';
import { startSystem, type TestSystem } from '../support/system.ts';

/** Debian's Chromium; CI installs it with `.ci/install-browser.sh`. */
const chromiumPath = '/usr/bin/chromium';
const screenshot = fileURLToPath(new URL('../../test-results/docs.png', import.meta.url));
const committedDocument = new URL('../../packages/contracts/openapi.json', import.meta.url);

let system: TestSystem;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium is not installed at ${chromiumPath}; the docs page test needs it. ` +
        'Install it with `bash .ci/install-browser.sh` (apt-get install chromium).',
    );
  }
  system = await startSystem();
  profile = await mkdtemp(join(tmpdir(), 'armature-chromium-'));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1440, height: 1000 },
  });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
  await system?.close();
});

describe('the API contract served by the gateway', () => {
  it('serves the committed OpenAPI document at /openapi.json, without a token', async () => {
    const response = await fetch(`${system.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.text()).toBe(await readFile(committedDocument, 'utf8'));
  });

  it('renders every operation on /docs from local assets only, and saves a screenshot', async () => {
    const page = await browser.newPage();
    const requested: string[] = [];
    page.on('request', (request) => {
      requested.push(request.url());
    });
    const errors: string[] = [];
    page.on('pageerror', (error) => {
      errors.push(error.message);
    });

    const response = await page.goto(`${system.url}/docs`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    // The reference renders its whole navigation at once: wait for the first entry, then read all.
    await page
      .getByText(allOperations[0].summary, { exact: true })
      .first()
      .waitFor({ state: 'visible', timeout: 60_000 });
    const missing: string[] = [];
    for (const operation of allOperations) {
      const entry = page.getByText(operation.summary, { exact: true }).first();
      if (!(await entry.isVisible())) missing.push(`${operation.operationId}: "${operation.summary}"`);
    }

    await mkdir(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: false });

    expect(missing, 'operations missing from /docs').toEqual([]);
    expect(errors, 'script errors on /docs').toEqual([]);
    const origin = new URL(system.url).origin;
    const elsewhere = requested.filter((url) => !url.startsWith(`${origin}/`) && !/^(data|blob):/.test(url));
    expect(elsewhere, 'requests leaving the gateway').toEqual([]);
    expect(requested).toContain(`${origin}/openapi.json`);
    expect(existsSync(screenshot)).toBe(true);
  }, 120_000);
});
