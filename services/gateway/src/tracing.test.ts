import { describe, expect, it } from 'vitest';
import { traceparentFor } from './tracing.ts';

describe('traceparent', () => {
  it('keeps a valid incoming traceparent so the trace continues', () => {
    const given = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(traceparentFor(given)).toBe(given);
  });

  it('starts a new trace when none or an invalid one is given', () => {
    for (const given of [
      undefined,
      'garbage',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
    ]) {
      const made = traceparentFor(given);
      expect(made).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(made).not.toBe(given);
    }
  });

  it('gives every new trace its own id', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => traceparentFor(undefined).slice(3, 35)));
    expect(ids.size).toBe(1000);
  });
});
