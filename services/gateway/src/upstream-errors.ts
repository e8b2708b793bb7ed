/** How a call to an upstream instance failed, from the error undici gave. */
export type FailureKind = 'connection' | 'timeout' | 'bad_response' | 'circuit_open' | 'other';

/** The request may not have reached the service, or its answer was lost on the way. */
const connectionErrors = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);
/** The request provably never left the gateway: safe to retry whatever the method. */
const neverSentErrors = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const timeoutErrors = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** The service answered something that is not usable HTTP. */
const badResponseErrors = new Set([
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_INFO',
]);

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

export function failureKind(error: unknown): FailureKind {
  if ((error as { isBrokenCircuitError?: boolean } | null)?.isBrokenCircuitError === true)
    return 'circuit_open';
  const code = errorCode(error);
  if (connectionErrors.has(code)) return 'connection';
  if (timeoutErrors.has(code)) return 'timeout';
  if (badResponseErrors.has(code) || code.startsWith('HPE_')) return 'bad_response';
  return 'other';
}

export function neverSent(error: unknown): boolean {
  return neverSentErrors.has(errorCode(error));
}

/**
 * What a circuit breaker counts against an instance: transport failures only. An HTTP status, even a
 * 5xx, is the service answering (it may be reporting its own dependency), and a bug on our side
 * (an invalid argument) says nothing about the instance.
 */
export function isInstanceFailure(error: unknown): boolean {
  const kind = failureKind(error);
  return kind === 'connection' || kind === 'timeout' || kind === 'bad_response';
}
