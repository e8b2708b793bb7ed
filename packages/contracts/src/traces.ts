import { type Static, Type } from '@sinclair/typebox';
import { listQueryProperties, Pagination, Timestamp } from './common.ts';
import { defineOperations } from './operation.ts';

/**
 * Traces for the admin console: each process keeps its latest spans in a ring of bounded size
 * (the gateway's request, its call upstream, the service's request, its database queries, the
 * event handlers it ran), correlated by the W3C `traceparent` and the `X-Request-Id`. When an
 * OpenTelemetry collector is configured the spans go there instead, and these operations say so.
 */

const TraceId = Type.String({
  pattern: '^[0-9a-f]{32}$',
  maxLength: 32,
  description: 'A W3C trace id: 32 lowercase hex digits',
  examples: ['4bf92f3577b34da6a3ce929d0e0e4736'],
});
const SpanId = Type.String({ pattern: '^[0-9a-f]{16}$', maxLength: 16, examples: ['00f067aa0ba902b7'] });

export const TraceSpan = Type.Object(
  {
    spanId: SpanId,
    parentId: Type.Union([SpanId, Type.Null()], { description: 'null for the first span of a trace' }),
    service: Type.String({ maxLength: 64, description: 'The server that recorded the span' }),
    kind: Type.Union([
      Type.Literal('internal'),
      Type.Literal('server'),
      Type.Literal('client'),
      Type.Literal('producer'),
      Type.Literal('consumer'),
    ]),
    name: Type.String({ maxLength: 300, examples: ['GET /v1/orders/{id}', 'db select'] }),
    /** Milliseconds from the start of the trace's first span kept. */
    offsetMs: Type.Number({ minimum: -86_400_000, maximum: 86_400_000 }),
    durationMs: Type.Number({ minimum: 0, maximum: 86_400_000 }),
    error: Type.Boolean(),
    attributes: Type.Record(
      Type.String({ maxLength: 100 }),
      Type.Union([Type.String({ maxLength: 1000 }), Type.Number(), Type.Boolean()]),
    ),
  },
  { additionalProperties: false, title: 'TraceSpan' },
);
export type TraceSpan = Static<typeof TraceSpan>;

export const Trace = Type.Object(
  {
    traceId: TraceId,
    startedAt: Timestamp,
    durationMs: Type.Number({ minimum: 0, maximum: 86_400_000 }),
    spans: Type.Array(TraceSpan, { maxItems: 10_000 }),
  },
  { additionalProperties: false, title: 'Trace' },
);
export type Trace = Static<typeof Trace>;

/** One request the gateway answered, as its span recorded it. */
export const TraceSummary = Type.Object(
  {
    traceId: TraceId,
    requestId: Type.String({ maxLength: 128 }),
    method: Type.String({ maxLength: 10 }),
    route: Type.String({ maxLength: 300, examples: ['/v1/orders/{id}'] }),
    path: Type.String({ maxLength: 2048, examples: ['/v1/orders/ord_01h455vb4pex5vsknk084sn02q'] }),
    status: Type.Integer({ minimum: 100, maximum: 599 }),
    startedAt: Timestamp,
    durationMs: Type.Number({ minimum: 0, maximum: 86_400_000 }),
  },
  { additionalProperties: false, title: 'TraceSummary' },
);
export type TraceSummary = Static<typeof TraceSummary>;

const Destination = Type.Union([Type.Literal('store'), Type.Literal('collector'), Type.Literal('off')], {
  description:
    '`store`: the spans kept in memory are listed here; `collector`: spans go to an OpenTelemetry ' +
    'collector (`OTEL_EXPORTER_OTLP_ENDPOINT`), read them there; `off`: nothing is recorded',
});

export const TraceList = Type.Object(
  {
    data: Type.Array(TraceSummary, { maxItems: 100 }),
    pagination: Pagination,
    destination: Destination,
    /** Where to read the traces when they go to a collector (`CONSOLE_TRACES_URL`), if configured. */
    collectorUrl: Type.Optional(Type.String({ format: 'uri', maxLength: 2048 })),
  },
  { additionalProperties: false, title: 'TraceList' },
);
export type TraceList = Static<typeof TraceList>;

export const TraceListQuery = Type.Object(
  {
    page: listQueryProperties.page,
    limit: listQueryProperties.limit,
    cursor: listQueryProperties.cursor,
    requestId: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9._:-]{1,128}$',
        maxLength: 128,
        description: 'The `X-Request-Id` of the request',
      }),
    ),
    status: Type.Optional(
      Type.String({
        pattern: '^[1-5]([0-9]{2}|xx)$',
        maxLength: 3,
        description: 'A status (`404`) or a class of statuses (`5xx`)',
        examples: ['5xx'],
      }),
    ),
    route: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 300,
        description: 'Part of the route or path (`/orders`), case-insensitive',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TraceListQuery = Static<typeof TraceListQuery>;

const TraceParams = Type.Object({ traceId: TraceId }, { additionalProperties: false });

export const tracesOperations = defineOperations({
  listTraces: {
    operationId: 'listTraces',
    service: 'gateway',
    method: 'GET',
    path: '/traces',
    summary: 'The latest requests the gateway answered, with their traces (admin), newest first',
    description:
      'From the spans this gateway keeps in memory (a ring of bounded size, `CONSOLE_TRACES_SPANS`): ' +
      'filter by `requestId`, `status` (`404`, `5xx`) and `route` (part of the route or path). With ' +
      'several gateway instances, each lists the requests it answered. When spans go to an ' +
      'OpenTelemetry collector the list is empty and `destination` is `collector`.',
    tags: ['Console'],
    access: 'admin',
    query: TraceListQuery,
    responses: { 200: TraceList },
    errors: [400, 401, 403],
    list: true,
  },
  getTrace: {
    operationId: 'getTrace',
    service: 'gateway',
    method: 'GET',
    path: '/traces/{traceId}',
    summary:
      'One trace (admin): its spans across the gateway, the services, the database and the event handlers',
    description:
      'The gateway gathers the spans of the trace from its own store and from every instance of ' +
      'every service. 404 when none of them kept a span of it (it was never seen, or it has been ' +
      'replaced by newer spans).',
    tags: ['Console'],
    access: 'admin',
    params: TraceParams,
    responses: { 200: Trace },
    errors: [400, 401, 403, 404],
  },
});
