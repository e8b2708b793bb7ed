/** SQLSTATEs that mean "the database is not there right now", not "this request is wrong". */
const unavailableStates = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovering)
  '53300', // too_many_connections
]);
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
]);
const pgMessages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /not queryable/,
  /^Client was closed and is not queryable/,
];

/**
 * Whether a failed query failed because the database could not be reached (down, restarting,
 * refusing connections, the pool timing out), rather than because of the query: such a request is a
 * 503 the client may retry, not a 500. Looks through `cause` chains (Kysely and pg wrap errors).
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== 'object') return false;
    const { code, message, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (
      typeof code === 'string' &&
      (unavailableStates.has(code) || code.startsWith('08') || networkCodes.has(code))
    ) {
      return true;
    }
    if (typeof message === 'string' && pgMessages.some((pattern) => pattern.test(message))) return true;
    if (current instanceof AggregateError && current.errors.some((inner) => isDatabaseUnavailable(inner)))
      return true;
    current = cause;
  }
  return false;
}
