import { AsyncLocalStorage } from 'node:async_hooks';
import { traceparentOf } from './envelope.ts';

/**
 * The trace context of the work in progress (a request, or an event being handled), so that an
 * event written anywhere below it carries the `traceparent` of its cause without every function
 * passing it along. The tracing instrumentation may later replace the parent id with its own span's.
 */
const storage = new AsyncLocalStorage<{ traceparent?: string }>();

export function withTraceparent<T>(traceparent: string | undefined, work: () => T): T {
  return storage.run({ traceparent: traceparentOf(traceparent) }, work);
}

export function currentTraceparent(): string | undefined {
  return storage.getStore()?.traceparent;
}
