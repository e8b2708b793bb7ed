import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from '../db/unavailable.ts';
import { ApiError, type ErrorDetail, errorBody } from '../errors.ts';

/**
 * Every failure a request can end in, answered in the error envelope: an `ApiError` as declared,
 * Fastify's own errors (validation, malformed JSON, too large, wrong type) by their stable code, a
 * database that is away as a 503 to retry, and anything else as a 500 whose detail goes only to the log.
 */

const malformedJsonCodes = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY']);

export function sendError(error: FastifyError | ApiError, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof ApiError) {
    if (error.headers) reply.headers(error.headers);
    if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(error.status).send(errorBody(error.code, error.message, request.id, error.details));
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    // Path parameters are ids: one that fails its schema (too long, say) names nothing, like an unknown id.
    if (fastifyError.validationContext === 'params') {
      return reply.code(404).send(errorBody('NOT_FOUND', 'The resource does not exist', request.id));
    }
    const details = validationDetails(fastifyError);
    return reply
      .code(400)
      .send(errorBody('VALIDATION_ERROR', 'Invalid request parameters', request.id, details));
  }
  const status = fastifyError.statusCode ?? 500;
  if (status === 413)
    return reply.code(413).send(errorBody('PAYLOAD_TOO_LARGE', 'The request body is too large', request.id));
  if (status === 415) {
    return reply
      .code(415)
      .send(errorBody('UNSUPPORTED_MEDIA_TYPE', 'The request body must be application/json', request.id));
  }
  if (status === 400 && (error instanceof SyntaxError || malformedJsonCodes.has(fastifyError.code))) {
    return reply
      .code(400)
      .send(errorBody('MALFORMED_JSON', 'The request body is not valid JSON', request.id));
  }
  if (status >= 400 && status < 500) {
    return reply
      .code(status)
      .send(errorBody('BAD_REQUEST', 'The request could not be understood', request.id));
  }
  if (isDatabaseUnavailable(error)) {
    // The database is down or restarting: the client may retry; nothing is wrong with the request.
    request.log.warn({ err: error }, 'database unavailable');
    return reply
      .code(503)
      .header('retry-after', '1')
      .send(
        errorBody('SERVICE_UNAVAILABLE', 'The service is temporarily unavailable; retry shortly', request.id),
      );
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send(errorBody('INTERNAL_ERROR', 'An internal error occurred', request.id));
}

/** One detail per bad field: a value can break several rules (or coercion can), the first one says enough. */
function validationDetails(error: FastifyError): ErrorDetail[] {
  const seen = new Set<string>();
  return issueDetails(error).filter((detail) => !seen.has(detail.field) && seen.add(detail.field));
}

function issueDetails(error: FastifyError): ErrorDetail[] {
  const context = error.validationContext;
  return (error.validation ?? []).map((issue) => {
    const params = issue.params as Record<string, unknown>;
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    if (issue.keyword === 'required') {
      const field = [path, params.missingProperty].filter(Boolean).join('.');
      return { field, message: 'is required' };
    }
    if (issue.keyword === 'additionalProperties') {
      const field = [path, params.additionalProperty].filter(Boolean).join('.');
      return {
        field,
        message: context === 'querystring' ? 'is not a supported query parameter' : 'is not an allowed field',
      };
    }
    return { field: path || String(context ?? 'body'), message: issue.message ?? 'is invalid' };
  });
}
