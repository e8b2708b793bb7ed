import { ApiError, SpanKind, SpanStatusCode } from '@armature/platform';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { GatewayMetrics } from './metrics.ts';
import { traceparentFor } from './tracing.ts';
import type { UpstreamRequest, UpstreamResponse } from './transports.ts';
import { failureKind, neverSent } from './upstream-errors.ts';
import type { UpstreamInstance, UpstreamService } from './upstreams.ts';

/** Headers that describe one hop, never forwarded (RFC 9110 §7.6.1), plus those the transport sets itself. */
const requestHeadersDropped = new Set([
  // An API key is exchanged at the edge for a short access token; the secret never goes upstream.
  'x-api-key',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'traceparent',
  'x-request-id',
  'x-forwarded-for',
]);
const responseHeadersDropped = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'date',
]);

const idempotentMethods = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export interface ForwardOptions {
  service: UpstreamService;
  /** Path and query to request upstream. */
  url: string;
  metrics: GatewayMetrics;
}

/**
 * Forwards the request to an instance of `service` and relays its answer. A connection error on an
 * idempotent method (or one that never reached any instance) is retried once on another instance;
 * timeouts are not retried. Failures become the envelope: 503 when no instance takes calls (with
 * `Retry-After`) or none can be reached, 504 on a timeout, 502 on an unusable answer.
 */
export async function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  { service, url, metrics }: ForwardOptions,
): Promise<FastifyReply> {
  const headers = upstreamHeaders(request);
  // The call upstream is a span of its own (retry included): the service's span is its child.
  const tracing = request.server.tracing;
  const span = tracing?.startSpan(`call ${service.name}`, {
    kind: SpanKind.CLIENT,
    traceparent: headers.traceparent as string,
    attributes: { 'armature.upstream': service.name },
  });
  if (span) headers.traceparent = tracing!.traceparentOf(span);
  const options: UpstreamRequest = {
    method: request.method,
    path: url,
    headers,
    body: (request.body as Buffer | undefined) ?? null,
  };
  try {
    const response = await call(request, service, options, metrics);
    span?.setAttribute('http.response.status_code', response.status);
    return send(request, reply, response);
  } catch (error) {
    span?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    throw error;
  } finally {
    span?.end();
  }
}

/** One instance's answer, or a second instance's when the first could not take the call. */
async function call(
  request: FastifyRequest,
  service: UpstreamService,
  options: UpstreamRequest,
  metrics: GatewayMetrics,
): Promise<UpstreamResponse> {
  const first = service.pick();
  if (!first) throw unavailable(service);
  let response: UpstreamResponse;
  try {
    response = await first.breaker.execute(() => first.transport.send(options));
  } catch (error) {
    recordFailure(metrics, service, first, error);
    const kind = failureKind(error);
    const retryable =
      kind === 'circuit_open' ||
      (kind === 'connection' && (idempotentMethods.has(request.method) || neverSent(error)));
    const second = retryable
      ? (service.pick(first) ?? (service.instances.length === 1 ? first : undefined))
      : undefined;
    if (!second) throw failure(error, service, request);
    metrics.upstreamRetries.inc({ service: service.name });
    try {
      response = await second.breaker.execute(() => second.transport.send(options));
    } catch (retryError) {
      recordFailure(metrics, service, second, retryError);
      throw failure(retryError, service, request);
    }
  }
  return response;
}

function send(request: FastifyRequest, reply: FastifyReply, response: UpstreamResponse): FastifyReply {
  reply.code(response.status);
  const headers = response.headers;
  for (const name in headers) {
    if (!responseHeadersDropped.has(name)) reply.header(name, headers[name]);
  }
  if (request.method === 'HEAD' && headers['content-length'] !== undefined) {
    reply.header('content-length', headers['content-length']);
  }
  return reply.send(response.body);
}

function upstreamHeaders(request: FastifyRequest): Record<string, string | string[]> {
  const incoming = request.headers;
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !requestHeadersDropped.has(name)) headers[name] = value;
  }
  headers['x-request-id'] = request.id;
  headers.traceparent = traceparentFor(incoming.traceparent);
  const peer = request.socket.remoteAddress ?? '';
  const forwardedFor = incoming['x-forwarded-for'];
  headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${peer}` : peer;
  return headers;
}

function unavailable(service: UpstreamService): ApiError {
  const seconds = Math.max(1, Math.ceil(service.retryAfterMs() / 1000));
  return new ApiError('SERVICE_UNAVAILABLE', {
    message: `The ${service.name} service is temporarily unavailable; retry later`,
    headers: { 'retry-after': String(seconds) },
  });
}

function recordFailure(
  metrics: GatewayMetrics,
  service: UpstreamService,
  instance: UpstreamInstance,
  error: unknown,
) {
  metrics.upstreamFailures.inc({ service: service.name, instance: instance.name, kind: failureKind(error) });
}

function failure(error: unknown, service: UpstreamService, request: FastifyRequest): ApiError {
  const kind = failureKind(error);
  if (kind === 'circuit_open') return unavailable(service);
  request.log.warn({ err: error, upstream: service.name }, 'upstream call failed');
  if (kind === 'timeout') {
    return new ApiError('UPSTREAM_TIMEOUT', {
      message: `The ${service.name} service did not answer in time`,
    });
  }
  if (kind === 'connection' && neverSent(error)) {
    return new ApiError('SERVICE_UNAVAILABLE', {
      message: `The ${service.name} service cannot be reached; retry later`,
      headers: { 'retry-after': '1' },
    });
  }
  return new ApiError('BAD_GATEWAY', { message: `The ${service.name} service gave no usable answer` });
}
