import { randomBytes } from 'node:crypto';
import { exportSpansTo, SpanKind } from '@armature/platform';
import { InMemorySpanExporter } from '@armature/platform/tracing-memory';
import { mode } from '@armature/testing/databases';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * One trace from the client through the gateway and the users service to the orders service's
 * consumer of the event the request caused (its context carried in the envelope's `traceparent`),
 * proven with an in-memory exporter: every span has the client's trace id and the one before as
 * its parent.
 */

const exporter = new InMemorySpanExporter();
let system: TestSystem;

beforeAll(async () => {
  exportSpansTo(exporter);
  // A stream of its own, so no other suite's consumer takes this system's events (scale-out runs).
  system = await startSystem({ EVENTS_STREAM: `TRACE_${randomBytes(4).toString('hex')}` });
});

afterAll(async () => {
  await system?.close();
  exportSpansTo(undefined);
});

const serviceOf = (span: { resource: { attributes: Record<string, unknown> } }) =>
  span.resource.attributes['service.name'];

describe(`tracing (${mode})`, () => {
  it('links the gateway, the service and the event consumer in one trace, each span the child of the one before', async () => {
    const traceId = randomBytes(16).toString('hex');
    const clientSpan = randomBytes(8).toString('hex');
    const response = await fetch(`${system.url}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${clientSpan}-01` },
      body: JSON.stringify({
        email: `traced-${traceId}@example.com`,
        name: 'Traced',
        password: 'traced password',
      }),
    });
    expect(response.status).toBe(201);

    const deadline = Date.now() + 30_000;
    let consumer: ReturnType<InMemorySpanExporter['getFinishedSpans']>[number] | undefined;
    while (!consumer && Date.now() < deadline) {
      consumer = exporter
        .getFinishedSpans()
        .find((span) => span.kind === SpanKind.CONSUMER && span.spanContext().traceId === traceId);
      if (!consumer) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
    const gateway = spans.find((span) => serviceOf(span) === 'gateway' && span.kind === SpanKind.SERVER);
    const users = spans.find((span) => serviceOf(span) === 'users' && span.kind === SpanKind.SERVER);

    const call = spans.find((span) => serviceOf(span) === 'gateway' && span.kind === SpanKind.CLIENT);
    expect(gateway?.name).toBe('POST /v1/*');
    expect(gateway?.parentSpanContext?.spanId).toBe(clientSpan);
    expect(users?.name).toBe('POST /v1/users');
    expect(call?.name).toBe('call users');
    expect(call?.parentSpanContext?.spanId).toBe(gateway?.spanContext().spanId);
    expect(users?.parentSpanContext?.spanId).toBe(call?.spanContext().spanId);
    expect(users?.attributes['http.response.status_code']).toBe(201);
    expect(consumer, 'a consumer span in the same trace').toBeDefined();
    expect(serviceOf(consumer!)).toBe('orders');
    expect(consumer?.name).toBe('user.created process');
    expect(consumer?.parentSpanContext?.spanId).toBe(users?.spanContext().spanId);
    expect(consumer?.attributes['armature.outcome']).toBe('handled');
  });
});
