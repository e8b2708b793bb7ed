import { createRequire } from 'node:module';
import {
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
import { traceparentOf as validTraceparent } from './events/envelope.ts';
import { randomHex } from './spans/ids.ts';
import { RecordingSpan, SkippedSpan } from './spans/recording-span.ts';
import { type Sampler, samplerFor } from './spans/sampler.ts';
import { type AttributeValue, type SpanKindName, type SpanStore, spanStore } from './spans/store.ts';
import { serviceVersion } from './version.ts';

export type { Span };
export { SpanKind, SpanStatusCode };

/** What the code that records spans uses of one: an OpenTelemetry span, or one kept by the span store. */
export interface TraceSpan {
  setAttribute(key: string, value: AttributeValue): unknown;
  setStatus(status: { code: SpanStatusCode; message?: string }): unknown;
  recordException(exception: Error): void;
  updateName(name: string): unknown;
  end(): void;
}

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
 * Tracing, on by default. With `OTEL_EXPORTER_OTLP_ENDPOINT` set, OpenTelemetry spans go to that
 * collector over OTLP/HTTP, batched; otherwise each process keeps its latest spans in its span store
 * (`spans/store.ts`), which the console reads; `CONSOLE_TRACES=false` turns that off. One span per request on every server (the caller's `traceparent` is its
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
  startSpan(
    name: string,
    options: {
      kind: SpanKind;
      traceparent?: string;
      attributes?: Record<string, AttributeValue>;
      /** Keep this new trace whatever the sampling (the span store's; a caller named the request). */
      keep?: boolean;
    },
  ): TraceSpan;
  /** The W3C `traceparent` naming `span` (one this tracing started), to pass on. */
  traceparentOf(span: TraceSpan): string;
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

/** Where spans go: an OpenTelemetry exporter (a collector), this process's span store, or nowhere. */
export function traceDestination(
  env: Record<string, string | undefined> = process.env,
): 'collector' | 'store' | 'off' {
  if (exporterOverride) return 'collector';
  if (env.OTEL_EXPORTER_OTLP_ENDPOINT && env.OTEL_SDK_DISABLED !== 'true') return 'collector';
  return env.CONSOLE_TRACES === 'false' ? 'off' : 'store';
}

/** This service's tracing, or undefined when tracing is off. One provider per service per process. */
export function tracingFor(
  service: string,
  env: Record<string, string | undefined> = process.env,
): Tracing | undefined {
  const destination = traceDestination(env);
  if (destination === 'off') return undefined;
  if (destination === 'store') return storeTracing(service, spanStore(env), samplerFor(env));
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
      // This tracing started the span, so it is an OpenTelemetry one.
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span as Span), carrier, defaultTextMapSetter);
      return carrier.traceparent;
    },
  };
}

const kindNames: Record<SpanKind, SpanKindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** The console's tracing: spans are plain objects written to the process's ring when they end. */
function storeTracing(service: string, store: SpanStore, sampler: Sampler): Tracing {
  return {
    flush: async () => {},
    startSpan(name, options) {
      const parent = validTraceparent(options.traceparent);
      if (parent) {
        // The first server of the trace decided: `-00` means not kept anywhere.
        if (parent.endsWith('-00')) return new SkippedSpan(parent);
      } else if (!(options.keep || sampler.keep())) {
        return new SkippedSpan(`00-${randomHex(16)}-${randomHex(8)}-00`);
      }
      return new RecordingSpan(
        store,
        service,
        name,
        kindNames[options.kind],
        parent ? parent.slice(3, 35) : randomHex(16),
        parent?.slice(36, 52),
        options.attributes ?? {},
      );
    },
    traceparentOf(span) {
      if (span instanceof RecordingSpan) return `00-${span.traceId}-${span.spanId}-01`;
      return span instanceof SkippedSpan ? span.traceparent : '';
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
    span?: TraceSpan;
  }
}

/** The URL without its query (which may carry personal data, and is not the route). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

const untraced = /^\/(health|metrics|spans)(\/|$|\?)/;

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
  // Callback-style hooks: an async hook costs a promise per request.
  app.addHook('onRequest', (request, _reply, done) => {
    if (untraced.test(request.url)) return done();
    const incoming = request.headers.traceparent;
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracing.startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      traceparent: typeof incoming === 'string' ? incoming : undefined,
      // A request its caller named (`X-Request-Id`) is one someone may look for: always kept.
      keep: request.headers['x-request-id'] !== undefined,
      attributes: {
        'http.request.method': request.method,
        'http.route': route,
        'url.path': pathOf(request.url),
        'armature.request_id': request.id,
      },
    });
    request.span = span;
    request.headers.traceparent = tracing.traceparentOf(span);
    done();
  });
  const end = (request: FastifyRequest, reply: { statusCode: number }) => {
    const span = request.span;
    if (!span) return;
    request.span = undefined;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  app.addHook('onResponse', (request, reply, done) => {
    end(request, reply);
    done();
  });
  app.addHook('onClose', () => tracing.flush());
  app.addHook('onRequestAbort', async (request) => {
    request.span?.setStatus({ code: SpanStatusCode.ERROR, message: 'aborted by the client' });
    end(request, { statusCode: 499 });
  });
}
