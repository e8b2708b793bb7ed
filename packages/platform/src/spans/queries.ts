import type { LogEvent } from 'kysely';
import { currentTraceparent } from '../events/trace-context.ts';
import { traceDestination } from '../tracing.ts';
import { nextSpanId } from './ids.ts';
import { nowMs } from './recording-span.ts';
import { spanStore } from './store.ts';

/**
 * A span per database query made while handling a request or an event (the trace context of that
 * work names the parent), for the console's span store; queries of background work (the relay's
 * polls, housekeeping) belong to no trace and are not kept. Kysely calls this after each query.
 * Undefined when the store is not in use, so Kysely does not time queries at all.
 */
export function querySpans(
  service: string,
  system: string,
  env: Record<string, string | undefined> = process.env,
): ((event: LogEvent) => void) | undefined {
  if (traceDestination(env) !== 'store') return undefined;
  const store = spanStore(env);
  return (event) => {
    const parent = currentTraceparent();
    // No trace, or one sampled out (`-00`).
    if (!parent || parent.endsWith('-00')) return;
    const text = event.query.sql;
    const verb = /^\s*(\w+)/.exec(text)?.[1]?.toLowerCase() ?? 'query';
    store.add({
      traceId: parent.slice(3, 35),
      spanId: nextSpanId(),
      parentId: parent.slice(36, 52),
      service,
      kind: 'client',
      name: `db ${verb}`,
      startedAt: nowMs() - event.queryDurationMillis,
      durationMs: event.queryDurationMillis,
      error: event.level === 'error',
      attributes: {
        'db.system.name': system,
        // The statement with its placeholders, never the values (they may be personal data).
        'db.query.text': text.length > 500 ? `${text.slice(0, 500)}…` : text,
        ...(event.level === 'error' ? { 'exception.message': String((event.error as Error)?.message) } : {}),
      },
    });
  };
}
