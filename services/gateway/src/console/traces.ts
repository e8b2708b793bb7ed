import { type Trace, type TraceListQuery, type TraceSummary, tracesOperations } from '@armature/contracts';
import { ApiError, isoTimestamp, registerOperation, traceDestination } from '@armature/platform';
import { type StoredSpan, spanStore } from '@armature/platform/spans/store';
import type { FastifyInstance } from 'fastify';
import { templateOf } from '../routes.ts';
import type { Upstreams } from '../upstreams.ts';

export interface TracesOptions {
  upstreams: Upstreams;
  /** Where the collector's traces are read (`CONSOLE_TRACES_URL`), linked from the console. */
  collectorUrl?: string;
  /** How long an instance may take to give its spans before the trace is shown without them. */
  instanceTimeoutMs?: number;
}

/** A request the gateway answered: its server span (the services' spans have their own names). */
const isRequest = (span: StoredSpan) => span.service === 'gateway' && span.kind === 'server';

/**
 * The contract's route of a request the gateway forwarded (`/v1/orders/{id}`), worked out when read:
 * its span is named after the gateway's catch-all (`/v1/*`), and a lookup per request would cost
 * every request what only the console needs.
 */
function routeOf(span: StoredSpan): string {
  const method = String(span.attributes['http.request.method'] ?? '');
  const named = span.name.startsWith(`${method} `) ? span.name.slice(method.length + 1) : span.name;
  const versioned = /^\/v(\d+)(\/.*)$/.exec(String(span.attributes['url.path'] ?? ''));
  const template = versioned && named.endsWith('/*') ? templateOf(versioned[2]!) : undefined;
  return template ? `/v${versioned![1]}${template}` : named;
}

/** A span as the console shows it: a gateway request named after its route. */
function displayName(span: StoredSpan): string {
  if (!isRequest(span)) return span.name;
  return `${span.attributes['http.request.method'] ?? ''} ${routeOf(span)}`;
}

function summary(span: StoredSpan): TraceSummary {
  const method = String(span.attributes['http.request.method'] ?? '');
  return {
    traceId: span.traceId,
    requestId: String(span.attributes['armature.request_id'] ?? ''),
    method,
    route: routeOf(span),
    path: String(span.attributes['url.path'] ?? ''),
    status: Number(span.attributes['http.response.status_code'] ?? 0),
    startedAt: isoTimestamp(new Date(span.startedAt)),
    durationMs: span.durationMs,
  };
}

function matcher(query: TraceListQuery): (span: StoredSpan) => boolean {
  const route = query.route?.toLowerCase();
  const status = query.status;
  return (span) => {
    if (!isRequest(span)) return false;
    if (query.requestId !== undefined && span.attributes['armature.request_id'] !== query.requestId)
      return false;
    if (status !== undefined) {
      const code = String(span.attributes['http.response.status_code'] ?? '');
      if (status.endsWith('xx') ? code[0] !== status[0] : code !== status) return false;
    }
    if (route !== undefined) {
      const path = String(span.attributes['url.path'] ?? '').toLowerCase();
      if (!path.includes(route) && !routeOf(span).toLowerCase().includes(route)) return false;
    }
    return true;
  };
}

/** A page starts after the request whose span id the cursor carries (the list is newest first). */
const encodeCursor = (spanId: string) => Buffer.from(`s:${spanId}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const text = Buffer.from(cursor, 'base64url').toString();
  if (!/^s:[0-9a-f]{16}$/.test(text)) throw new ApiError('INVALID_CURSOR');
  return text.slice(2);
}

/**
 * `GET /v1/traces` and `GET /v1/traces/{traceId}`: the console's traces, read from the gateway's span
 * store and, for one trace, from every service instance's (`GET /spans?traceId=` on each; in
 * embedded mode they share this process's store, and spans seen twice are kept once).
 */
export async function traces(app: FastifyInstance, options: TracesOptions): Promise<void> {
  const timeoutMs = options.instanceTimeoutMs ?? 2000;

  // API routes of the gateway's own: versioned, labelled and authorized like the forwarded ones.
  const api = { config: { api: true } };

  registerOperation(
    app,
    tracesOperations.listTraces,
    (request) => {
      const query = request.query;
      const limit = query.limit ?? 20;
      const destination = traceDestination();
      const collector = options.collectorUrl ? { collectorUrl: options.collectorUrl } : {};
      const store = spanStore();
      const matches = destination === 'store' ? store.find(matcher(query), store.capacity) : [];
      let start = ((query.page ?? 1) - 1) * limit;
      if (query.cursor !== undefined) {
        const after = decodeCursor(query.cursor);
        const index = matches.findIndex((span) => span.spanId === after);
        // The request it names has left the ring: its place in the list is gone.
        if (index < 0)
          throw new ApiError('INVALID_CURSOR', { message: 'The cursor names a request no longer kept' });
        start = index + 1;
      }
      const page = matches.slice(start, start + limit);
      const hasMore = start + limit < matches.length;
      return {
        data: page.map(summary),
        pagination: {
          total: matches.length,
          page: query.cursor === undefined ? (query.page ?? 1) : null,
          limit,
          hasMore,
          nextCursor: hasMore && page.length > 0 ? encodeCursor(page[page.length - 1]!.spanId) : null,
        },
        destination,
        ...collector,
      };
    },
    api,
  );

  registerOperation(
    app,
    tracesOperations.getTrace,
    async (request) => {
      const { traceId } = request.params;
      const instances = Object.values(options.upstreams.services).flatMap((service) => service.instances);
      const gathered = await Promise.all(
        instances.map(async (instance) => {
          try {
            const response = await fetch(`${instance.url}/spans?traceId=${traceId}`, {
              signal: AbortSignal.timeout(timeoutMs),
            });
            if (!response.ok) return [];
            return ((await response.json()) as { spans: StoredSpan[] }).spans;
          } catch {
            // An instance down or slow: the trace is shown with what the others kept.
            return [];
          }
        }),
      );
      const byId = new Map<string, StoredSpan>();
      for (const span of [...spanStore().trace(traceId), ...gathered.flat()]) byId.set(span.spanId, span);
      if (byId.size === 0) throw new ApiError('NOT_FOUND', { message: 'No span of this trace is kept' });
      return traceOf(traceId, [...byId.values()]);
    },
    api,
  );
}

function traceOf(traceId: string, spans: StoredSpan[]): Trace {
  spans.sort((a, b) => a.startedAt - b.startedAt);
  const start = spans[0]!.startedAt;
  const end = Math.max(...spans.map((span) => span.startedAt + span.durationMs));
  return {
    traceId,
    startedAt: isoTimestamp(new Date(start)),
    durationMs: end - start,
    spans: spans.map((span) => ({
      spanId: span.spanId,
      parentId: span.parentId ?? null,
      service: span.service,
      kind: span.kind,
      name: displayName(span).slice(0, 300),
      offsetMs: span.startedAt - start,
      durationMs: span.durationMs,
      error: span.error,
      attributes: span.attributes,
    })),
  };
}
