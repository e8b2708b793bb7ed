import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './config.ts';
import { type App, createServer } from './server.ts';
import { listen, type StartedService } from './service.ts';
import { exportSpansTo, SpanKind, traceDestination, tracingFor } from './tracing.ts';
import { InMemorySpanExporter } from './tracing-memory.ts';

describe('tracing configuration', () => {
  it('keeps spans in the span store by default, sends them to a collector when one is set, and is off on request', () => {
    exportSpansTo(undefined);
    expect(traceDestination({})).toBe('store');
    expect(tracingFor('stored-by-default', {})).toBeDefined();
    expect(traceDestination({ CONSOLE_TRACES: 'false' })).toBe('off');
    expect(tracingFor('off', { CONSOLE_TRACES: 'false' })).toBeUndefined();
    expect(
      traceDestination({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe('store');
    expect(traceDestination({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe('collector');
    expect(tracingFor('on', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBeDefined();
    expect(() => tracingFor('bad', { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(ConfigError);
  });
});

describe('server spans', () => {
  const exporter = new InMemorySpanExporter();
  let front: StartedService;
  let back: StartedService;

  beforeAll(async () => {
    exportSpansTo(exporter);
    const backApp: App = createServer({ service: 'back', logLevel: 'silent' });
    backApp.get('/things/:id', { config: { public: true } }, async (request) => ({
      traceparent: request.headers.traceparent,
    }));
    backApp.get('/boom', { config: { public: true } }, async () => {
      throw new Error('boom');
    });
    back = await listen(backApp, { host: '127.0.0.1', port: 0 });
    const frontApp: App = createServer({ service: 'front', logLevel: 'silent' });
    frontApp.get('/proxy/:id', { config: { public: true } }, async (request) => {
      const { id } = request.params as { id: string };
      // What the gateway does: pass the request's traceparent on.
      const response = await fetch(`${back.url}/things/${id}`, {
        headers: { traceparent: String(request.headers.traceparent) },
      });
      return response.json();
    });
    front = await listen(frontApp, { host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await front?.close();
    await back?.close();
    exportSpansTo(undefined);
  });

  it('makes one trace of a request across servers: the caller, then each server as the child of the one before', async () => {
    exporter.reset();
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await fetch(`${front.url}/proxy/42`, { headers: { traceparent: caller } });
    const answer = (await response.json()) as { traceparent: string };
    const spans = exporter.getFinishedSpans();
    const frontSpan = spans.find((span) => span.resource.attributes['service.name'] === 'front');
    const backSpan = spans.find((span) => span.resource.attributes['service.name'] === 'back');
    expect(frontSpan?.name).toBe('GET /proxy/:id');
    expect(backSpan?.name).toBe('GET /things/:id');
    expect(frontSpan?.kind).toBe(SpanKind.SERVER);
    expect(frontSpan?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(frontSpan?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(backSpan?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(backSpan?.parentSpanContext?.spanId).toBe(frontSpan?.spanContext().spanId);
    // The handler saw its own span as the traceparent to pass on.
    expect(answer.traceparent).toBe(
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${backSpan?.spanContext().spanId}-01`,
    );
    expect(backSpan?.attributes['http.response.status_code']).toBe(200);
  });

  it('starts a new trace without a valid traceparent, marks 5xx as errors, and leaves probes out', async () => {
    exporter.reset();
    await fetch(`${back.url}/boom`, { headers: { traceparent: 'garbage' } });
    await fetch(`${back.url}/health`);
    await fetch(`${back.url}/metrics`);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => span.name)).toEqual(['GET /boom']);
    expect(spans[0].parentSpanContext).toBeUndefined();
    expect(spans[0].status.code).toBe(2);
    expect(spans[0].attributes['http.response.status_code']).toBe(500);
  });
});
