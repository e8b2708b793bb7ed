import { AsyncLocalStorage } from 'node:async_hooks';
import { traceparentOf } from './envelope.ts';

/**
 * The work in progress (a request, or an event being handled): its trace context, so that an event
 * written anywhere below it carries the `traceparent` of its cause without every function passing it
 * along (the tracing instrumentation may later replace the parent id with its own span's), and
 * whether it wrote events, so that the outbox relay is woken after the commits that need it only.
 */
export interface WorkContext {
  traceparent?: string;
  eventsWritten: boolean;
}

const storage = new AsyncLocalStorage<WorkContext>();

export function workContext(traceparent: string | undefined): WorkContext {
  return { traceparent: traceparentOf(traceparent), eventsWritten: false };
}

export function withWorkContext<T>(context: WorkContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentTraceparent(): string | undefined {
  return storage.getStore()?.traceparent;
}

/** An event was written in the work in progress (see `eventsInsert`). */
export function noteEventsWritten(): void {
  const context = storage.getStore();
  if (context) context.eventsWritten = true;
}
