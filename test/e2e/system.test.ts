import type { HealthReport } from '@armature/platform';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let system: TestSystem;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.close());

describe(`the whole system started as npm start starts it (${mode})`, () => {
  it('answers GET /health on the gateway with a check for each service', async () => {
    const response = await system.fetch('/health');
    expect(response.status).toBe(200);
    const report = (await response.json()) as HealthReport;
    expect(report.status).toBe('healthy');
    expect(report.checks.users.status).toBe('up');
    expect(report.checks.orders.status).toBe('up');
    expect(report.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
  });

  it('answers /health on each service with its database check', async () => {
    for (const service of [system.services.users, system.services.orders]) {
      const report = (await (await fetch(`${service.url}/health`)).json()) as HealthReport;
      expect(report.checks.database).toMatchObject({ status: 'up' });
    }
  });

  it('marks the gateway unhealthy (503) when a service is gone', async () => {
    await system.services.orders.close();
    const response = await fetch(`${system.url}/health`);
    expect(response.status).toBe(503);
    const report = (await response.json()) as HealthReport;
    expect(report.checks.orders.status).toBe('down');
    expect(report.checks.users.status).toBe('up');
  });
});
