import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, browserSuite, launchBrowser } from '@armature/testing/browser-suite';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';
import { ordersDatabase, poisonedProjection } from './poison.ts';

/** Screenshots of the console, kept as test artifacts (and used by docs/console.md). */
const artifacts = fileURLToPath(new URL('../../test-results/console/', import.meta.url));
const admin = { email: `console-admin-${randomUUID()}@example.com`, password: 'console admin password' };
const memberPassword = 'member password 1';

let system: TestSystem;
let projection: ReturnType<typeof poisonedProjection>;

async function signUp(name: string): Promise<{ id: string; email: string }> {
  const email = `console-${randomUUID()}@example.com`;
  const created = await system.call('POST', '/v1/users', { body: { email, name, password: memberPassword } });
  expect(created.status).toBe(201);
  return { id: created.body.id, email };
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    EVENTS_MAX_DELIVER: '2',
    EVENTS_RETRY_BACKOFF_MS: '20',
  });
  projection = poisonedProjection(ordersDatabase(system.services));
  await mkdir(artifacts, { recursive: true });
}, 180_000);
afterAll(async () => {
  await projection?.fix().catch(() => {});
  await system?.close();
});

describe('the console shell, without a browser', () => {
  it('is served at /console with a strict CSP, and its API calls refuse anonymous callers', async () => {
    const response = await fetch(`${system.url}/console`);
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const page = await response.text();
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect((await system.call('GET', '/v1/services/orders/dead-letters')).status).toBe(401);
    expect((await system.call('GET', '/v1/events?type=user.created')).status).toBe(401);
  });
});

describe(`the console in a browser (${mode})`, browserSuite(), () => {
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (error) => {
      pageErrors.push(error.message);
    });
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text()))
        pageErrors.push(message.text());
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('shows only the sign-in form until an admin signs in; a member is turned away', async () => {
    await page.goto(`${system.url}/console`);
    await expect.poll(() => page.getByRole('button', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await page.locator('svg.map').count()).toBe(0);
    const member = await signUp('Console Member');
    await signIn(page, member.email, memberPassword);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('not an admin');
    expect(await page.locator('svg.map').count()).toBe(0);
  });

  it('signs an admin in and draws the map with every instance up', async () => {
    await signIn(page, admin.email, admin.password);
    await page.locator('svg.map').waitFor();
    for (const node of ['users', 'users-1', 'orders', 'orders-1']) {
      await page.locator(`[data-node="${node}"][data-status="up"]`).waitFor();
    }
    // Each instance's circuit breaker and each service's outbox backlog, from the traffic snapshot.
    await page.locator('[data-node="orders-1"][data-breaker="closed"]').waitFor();
    expect(await page.locator('[data-node="orders"]').textContent()).toMatch(/outbox \d+ waiting/);
    // Each service's own dependencies, from its instances' health reports.
    for (const service of ['users', 'orders', 'payments']) {
      await page.locator(`[data-node="${service}:database"][data-status="up"]`).waitFor();
    }
    await page.screenshot({ path: `${artifacts}map.png` });
    // The session lives in memory only.
    expect(
      await page.evaluate(() => Object.keys(localStorage).length + Object.keys(sessionStorage).length),
    ).toBe(0);
  });

  it("finds a request's trace by its X-Request-Id and draws its spans as a waterfall", async () => {
    const requestId = `console-trace-${randomUUID()}`;
    const response = await fetch(`${system.url}/v1/products?limit=1`, {
      headers: { 'x-request-id': requestId },
    });
    expect(response.status).toBe(200);
    await page.getByRole('link', { name: 'Traces' }).click();
    await page.getByLabel('Request id').fill(requestId);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator(`tr[data-request="${requestId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('GET /v1/products');
    await row.getByRole('button').click();
    // The gateway's request, its call upstream, the orders service's request and its query.
    for (const [service, name] of [
      ['gateway', 'GET /v1/products'],
      ['gateway', 'call orders'],
      ['orders', 'GET /v1/products'],
      ['orders', 'db select'],
    ]) {
      await page.locator(`svg.waterfall [data-service="${service}"][data-span="${name}"]`).first().waitFor();
    }
    await page.screenshot({ path: `${artifacts}traces.png`, fullPage: true });
  });

  it('charts the traffic per service and lists the routes after some requests', async () => {
    await page.getByRole('link', { name: 'Traffic' }).click();
    for (let i = 0; i < 20; i++) {
      await (await fetch(`${system.url}/v1/products?limit=${1 + (i % 5)}`)).arrayBuffer();
    }
    // The second reading of the counters (5 s after the first) brings the first figures.
    await page.locator('tr[data-route="orders GET /v1/products"]').waitFor({ timeout: 20_000 });
    for (const title of ['Requests per second', 'Errors (5xx)', 'p50 latency', 'p99 latency']) {
      await page.locator(`[data-chart="${title}"] canvas`).waitFor();
    }
    // A route opens its own charts: its rate and its p50/p99.
    await page.locator('tr[data-route="orders GET /v1/products"]').getByRole('button').click();
    await page.locator('[data-chart="orders GET /v1/products: latency"] canvas').waitFor();
    expect(await page.locator('[data-figure="refusals"]').textContent()).toContain('rate-limit refusals');
    expect(await page.locator('[data-figure="cache"]').textContent()).toContain('cache hits');
    await page.screenshot({ path: `${artifacts}traffic.png`, fullPage: true });
  });

  it('looks up an order by id and shows its state, its events and its payments, read-only', async () => {
    const adminToken = (await system.call('POST', '/v1/auth/login', { body: admin })).body.accessToken;
    const product = await system.call('POST', '/v2/products', {
      token: adminToken,
      body: {
        name: `Console cup ${randomUUID().slice(0, 8)}`,
        price: { amount: 900, currency: 'USD' },
        stock: 5,
      },
    });
    expect(product.status).toBe(201);
    const buyer = await signUp('Console Buyer');
    const token = (
      await system.call('POST', '/v1/auth/login', { body: { email: buyer.email, password: memberPassword } })
    ).body.accessToken;
    await eventually('the buyer known to the orders service', async () => {
      const put = await system.call('PUT', `/v2/users/me/cart/items/${product.body.id}`, {
        token,
        body: { quantity: 2 },
      });
      return put.status === 200;
    });
    const placed = await system.call('POST', '/v2/users/me/orders', { token, body: {} });
    expect(placed.status).toBe(201);

    await page.getByRole('link', { name: 'Data' }).click();
    await page.getByLabel('User id, email or order id').fill(placed.body.id);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator(`[data-found="${placed.body.id}"]`).waitFor();
    await page.locator('tr[data-history-event="order.created"]').waitFor();
    expect(await page.locator('table.state').textContent()).toContain('pending');
    expect(await page.locator('table.payments').textContent()).toContain('No payment for this order.');
    await page.screenshot({ path: `${artifacts}data-order.png`, fullPage: true });

    // The buyer, by email: their events and the order among their latest.
    await page.getByLabel('User id, email or order id').fill(buyer.email);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.locator(`[data-found="${buyer.id}"]`).waitFor();
    await page.locator('tr[data-history-event="user.created"]').waitFor();
    await page.getByRole('button', { name: placed.body.id }).waitFor();
  });

  it('finds a poisoned event in the dead letters, replays it after the fix, and it is processed once', async () => {
    await projection.break();
    const user = await signUp('Poison Console');
    await page.getByRole('link', { name: 'Events' }).click();
    const row = page.locator('tr[data-dead-letter]', { hasText: user.id });
    await row.waitFor({ timeout: 20_000 });
    // The recent events (user.created by default) list the same event.
    await page.locator('tr[data-event]', { hasText: user.id }).waitFor();
    expect(await row.textContent()).toContain('customer name refused');
    await row.getByRole('button', { name: 'Inspect' }).click();
    await page.locator('tr.envelope', { hasText: user.email }).waitFor();
    await page.screenshot({ path: `${artifacts}dead-letters.png`, fullPage: true });

    await projection.fix();
    await row.getByRole('button', { name: 'Replay' }).click();
    await expect
      .poll(() => page.locator('tr[data-dead-letter]', { hasText: user.id }).count(), { timeout: 10_000 })
      .toBe(0);
    expect(await projection.customersWithEmail(user.email)).toBe(1);
    await page.locator('td.empty', { hasText: 'No dead letters.' }).waitFor();
  });

  it('shows an instance going down when it stops', async () => {
    await page.getByRole('link', { name: 'Map' }).click();
    await page.locator('[data-node="orders-1"][data-status="up"]').waitFor();
    await system.services.orders.close();
    await page.locator('[data-node="orders-1"][data-status="down"]').waitFor({ timeout: 20_000 });
    await eventually('the map to show the system degraded', async () =>
      ['degraded', 'unhealthy'].includes(
        (await page.locator('[data-system-status]').getAttribute('data-system-status')) ?? '',
      ),
    );
    await page.screenshot({ path: `${artifacts}map-instance-down.png` });
    expect(pageErrors).toEqual([]);
  });
});
