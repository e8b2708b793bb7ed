import { describe, expect, it } from 'vitest';
import { SpanStore, type StoredSpan } from './store.ts';

const span = (spanId: string, traceId = 't1', startedAt = 0): StoredSpan => ({
  traceId,
  spanId,
  parentId: undefined,
  service: 'gateway',
  kind: 'server',
  name: `GET /${spanId}`,
  startedAt,
  durationMs: 1,
  error: false,
  attributes: {},
});

describe('the span store', () => {
  it('keeps the latest spans only, newest first, in a ring of its size', () => {
    const store = new SpanStore(3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) store.add(span(id));
    expect(store.find(() => true, 10).map((kept) => kept.spanId)).toEqual(['e', 'd', 'c']);
    expect(store.find(() => true, 2).map((kept) => kept.spanId)).toEqual(['e', 'd']);
  });

  it('gives the spans of one trace in order of start', () => {
    const store = new SpanStore(10);
    store.add(span('late', 't1', 5));
    store.add(span('other', 't2', 1));
    store.add(span('early', 't1', 2));
    expect(store.trace('t1').map((kept) => kept.spanId)).toEqual(['early', 'late']);
    expect(store.trace('t3')).toEqual([]);
  });
});
