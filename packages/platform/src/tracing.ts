import { createRequire } from 'node:module';
import {
  type Attributes,
  defaultTextMapGetter,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { SpanExporter, SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ConfigError } from './config.ts';
import { serviceVersion } from './version.ts';

export type { Span };
export { SpanKind };

/**
 * The OpenTelemetry SDK, loaded the first time tracing is on: off (the default) it is never loaded,
 * and it is a few hundred modules, a noticeable part of a start and of the heap. `require` keeps
 * `tracingFor` synchronous, as the server factory that calls it is.
 */
const require = createRequire(import.meta.url);
const sdk = () => ({
  ...(require('@opentelemetry/sdk-trace') as typeof import('@opentelemetry/sdk-trace')),
  ...(require('@opentelemetry/core') as typeof import('@opentelemetry/core')),
  ...(require('@opentelemetry/resources') as typeof import('@opentelemetry/resources')),
});

/**
 * OpenTelemetry tracing, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (then spans go there over
 * OTLP/HTTP, batched). One span per request on every server (the caller's `traceparent` is its
 * parent), and one per event a consumer handles (its parent is the request that wrote the event,
 * carried in the envelope's `traceparent`): a request through the gateway, the service and the
 * consumers of its events is one trace.
 *
 * Propagation needs no code in the routes: the server span replaces the request's `traceparent`
 * header with its own, so whatever reads that header next — the gateway forwarding the request, a
 * service writing an event — continues the trace from this span.
 */
export interface Tracing {
  /** Starts a span, the child of `traceparent` when one is given (and valid), else a new trace. */
  startSpan(name: string, options: { kind: SpanKind; traceparent?: string; attributes?: Attributes }): Span;
  /** The W3C `traceparent` naming `span`, to pass on. */
  traceparentOf(span: Span): string;
  /** Exports the spans still buffered. */
  flush(): Promise<void>;
}

const providers = new Map<string, TracerProvider>();
let exporterOverride: SpanExporter | undefined;

/**
 * Sends the spans of every server made from now on in this process to `exporter` (tests: an
 * `InMemorySpanExporter`), whatever the environment says; `undefined` goes back to the environment.
 */
export function exportSpansTo(exporter: SpanExporter | undefined): void {
  exporterOverride = exporter;
  providers.clear();
}

function spanProcessor(env: Record<string, string | undefined>): SpanProcessor | undefined {
  if (exporterOverride) return new (sdk().SimpleSpanProcessor)({ exporter: exporterOverride });
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED === 'true') return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', `must be an http(s) URL, got "${endpoint}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError('OTEL_EXPORTER_OTLP_ENDPOINT', `must be an http(s) URL, got "${endpoint}"`);
  }
  // The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (adding /v1/traces) and the other OTEL_* settings.
  const { OTLPTraceExporter } =
    require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  return new (sdk().BatchSpanProcessor)({ exporter: new OTLPTraceExporter() });
}

/** This service's tracing, or undefined when tracing is off. One provider per service per process. */
export function tracingFor(
  service: string,
  env: Record<string, string | undefined> = process.env,
): Tracing | undefined {
  let provider = providers.get(service);
  if (!provider) {
    const processor = spanProcessor(env);
    if (!processor) return undefined;
    const { TracerProvider, resourceFromAttributes } = sdk();
    provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'service.version': serviceVersion }),
      spanProcessors: [processor],
    });
    providers.set(service, provider);
  }
  const tracer = provider.getTracer('armature');
  const propagator = new (sdk().W3CTraceContextPropagator)();
  const owner = provider;
  return {
    flush: () => owner.forceFlush().catch(() => undefined),
    startSpan(name, options) {
      const parent = options.traceparent
        ? propagator.extract(ROOT_CONTEXT, { traceparent: options.traceparent }, defaultTextMapGetter)
        : ROOT_CONTEXT;
      return tracer.startSpan(name, { kind: options.kind, attributes: options.attributes }, parent);
    },
    traceparentOf(span) {
      const carrier: Record<string, string> = {};
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
      return carrier.traceparent;
    },
  };
}

/** Sends what is buffered and stops every provider (process shutdown). */
export async function shutdownTracing(): Promise<void> {
  const all = [...providers.values()];
  providers.clear();
  await Promise.all(all.map((provider) => provider.shutdown().catch(() => undefined)));
}

declare module 'fastify' {
  interface FastifyInstance {
    /** This server's tracing; undefined when tracing is off. */
    tracing: Tracing | undefined;
  }
  interface FastifyRequest {
    /** The request's server span, when tracing is on. */
    span?: Span;
  }
}

const untraced = /^\/(health|metrics)(\/|$|\?)/;

/**
 * A SERVER span per request (probes and scrapes excepted), named after the route template, ended
 * when the response is sent (status ERROR for a 5xx). The request's `traceparent` header is replaced
 * by the span's own, so downstream calls and events continue from it.
 */
export function registerTracing(app: FastifyInstance, service: string): void {
  const tracing = tracingFor(service);
  app.decorate('tracing', tracing);
  if (!tracing) return;
  app.decorateRequest('span', undefined);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    if (untraced.test(request.url)) return;
    const incoming = request.headers.traceparent;
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracing.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      traceparent: typeof incoming === 'string' ? incoming : undefined,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': request.url.split('?')[0],
        'armature.request_id': request.id,
      },
    });
    request.span = span;
    request.headers.traceparent = tracing.traceparentOf(span);
  });
  const end = async (request: FastifyRequest, reply: { statusCode: number }) => {
    const span = request.span;
    if (!span) return;
    request.span = undefined;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  app.addHook('onResponse', end);
  app.addHook('onClose', () => tracing.flush());
  app.addHook('onRequestAbort', async (request) => {
    request.span?.setStatus({ code: SpanStatusCode.ERROR, message: 'aborted by the client' });
    await end(request, { statusCode: 499 });
  });
}
