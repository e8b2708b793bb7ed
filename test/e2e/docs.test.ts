import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, browserSuite, launchBrowser } from '@armature/testing/browser-suite';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOperations } from '../../packages/contracts/src/all-operations.ts';

const screenshot = fileURLToPath(new URL('../../test-results/docs.png', import.meta.url));
const committedDocument = new URL('../../packages/contracts/openapi.json', import.meta.url);

let system: TestSystem;

beforeAll(async () => {
  system = await startSystem();
}, 180_000);

afterAll(async () => {
  await system?.close();
});

describe('the API contract served by the gateway', () => {
  it('serves the committed OpenAPI document at /openapi.json, without a token', async () => {
    const response = await fetch(`${system.url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.text()).toBe(await readFile(committedDocument, 'utf8'));
  });
});

describe('the docs page in a browser', browserSuite(), () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchBrowser();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('renders every operation on /docs from local assets only, and saves a screenshot', async () => {
    const page = await browser.context.newPage();
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
