import { describe, expect, it } from 'vitest';
import { ConfigError } from '../config.ts';
import { exportSpansTo, SpanKind, tracingFor } from '../tracing.ts';
import { samplerFor } from './sampler.ts';
import { spanStore } from './store.ts';

const kept = (ratio: string, count: number) => {
  const sampler = samplerFor({ CONSOLE_TRACES_SAMPLE: ratio });
  return Array.from({ length: count }, () => sampler.keep()).filter(Boolean).length;
};

describe('sampling of the span store', () => {
  it('keeps the given share of new traces, evenly, one in ten by default', () => {
    expect(kept('0.1', 100)).toBe(10);
    expect(kept('0.25', 100)).toBe(25);
    expect(kept('1', 50)).toBe(50);
    expect(kept('0', 50)).toBe(0);
    const byDefault = samplerFor({});
    expect(Array.from({ length: 30 }, () => byDefault.keep()).filter(Boolean).length).toBe(3);
    expect(() => samplerFor({ CONSOLE_TRACES_SAMPLE: '2' })).toThrow(ConfigError);
    expect(() => samplerFor({ CONSOLE_TRACES_SAMPLE: 'half' })).toThrow(ConfigError);
  });

  it('keeps a named request always, and follows the first server’s decision down the trace', () => {
    exportSpansTo(undefined);
    const tracing = tracingFor('sampling-test', { CONSOLE_TRACES_SAMPLE: '0' })!;
    const store = spanStore();
    const skipped = tracing.startSpan('GET /skipped', { kind: SpanKind.SERVER });
    const passedOn = tracing.traceparentOf(skipped);
    expect(passedOn).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    const below = tracing.startSpan('call', { kind: SpanKind.CLIENT, traceparent: passedOn });
    expect(tracing.traceparentOf(below)).toBe(passedOn);
    skipped.end();
    below.end();
    expect(store.find((span) => span.name === 'GET /skipped' || span.name === 'call', 10)).toEqual([]);

    const named = tracing.startSpan('GET /named', { kind: SpanKind.SERVER, keep: true });
    const child = tracing.startSpan('call named', {
      kind: SpanKind.CLIENT,
      traceparent: tracing.traceparentOf(named),
    });
    child.end();
    named.end();
    const [found] = store.find((span) => span.name === 'GET /named', 1);
    expect(found).toBeDefined();
    expect(store.trace(found!.traceId).map((span) => span.name)).toEqual(['GET /named', 'call named']);
  });
});
