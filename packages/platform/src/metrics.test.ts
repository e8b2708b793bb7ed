import { Counter } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createServer } from './server.ts';

describe('/metrics', () => {
  it('counts requests by route template and status, with event-loop lag and counters plugins register', async () => {
    const app = createServer({ service: 'shop', logLevel: 'silent' });
    app.get('/items/:id', async () => ({ ok: true }));
    const hits = new Counter({ name: 'cache_hits_total', help: 'hits', registers: [app.metrics] });
    hits.inc(3);
    await app.inject({ method: 'GET', url: '/items/1' });
    await app.inject({ method: 'GET', url: '/items/2' });
    await app.inject({ method: 'GET', url: '/nowhere' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    await app.close();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const text = response.body;
    expect(text).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="\/items\/:id"[^}]*status="200"[^}]*\} 2/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_count\{[^}]*route="unmatched"[^}]*status="404"[^}]*\} 1/,
    );
    expect(text).toMatch(/cache_hits_total\{service="shop"\} 3/);
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it('requires the bearer token when one is configured', async () => {
    const app = createServer({ service: 'shop', logLevel: 'silent', metricsToken: 's3cret' });
    const denied = await app.inject({ method: 'GET', url: '/metrics' });
    const allowed = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: 'Bearer s3cret' },
    });
    await app.close();
    expect(denied.statusCode).toBe(401);
    expect(denied.json().error.code).toBe('UNAUTHORIZED');
    expect(allowed.statusCode).toBe(200);
  });
});
