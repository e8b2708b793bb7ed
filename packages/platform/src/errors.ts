/**
 * Every error code the API can return, declared once with its status and default message.
 * Routes throw by name: `throw new ApiError('EMAIL_TAKEN')`.
 */
export const errorCodes = {
  VALIDATION_ERROR: { status: 400, message: 'Invalid request parameters' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is invalid or has been tampered with' },
  UNSUPPORTED_VERSION: { status: 400, message: 'The requested API version is not supported' },
  BAD_REQUEST: { status: 400, message: 'The request could not be understood' },
  INVALID_LINK_TOKEN: { status: 400, message: 'This link is invalid, has expired or was already used' },
  UNAUTHORIZED: { status: 401, message: 'Authentication is required' },
  INVALID_TOKEN: { status: 401, message: 'The access token is invalid or expired' },
  INVALID_CREDENTIALS: { status: 401, message: 'Email or password is incorrect' },
  INVALID_MFA_CODE: {
    status: 401,
    message: 'The code is wrong, was already used, or the sign-in has expired',
  },
  INVALID_WEBHOOK_SIGNATURE: {
    status: 400,
    message: 'The webhook signature is missing, invalid or too old',
  },
  INVALID_REFRESH_TOKEN: { status: 401, message: 'The refresh token is invalid, expired or revoked' },
  INVALID_API_KEY: { status: 401, message: 'The API key is invalid, expired or revoked' },
  INSUFFICIENT_SCOPE: { status: 403, message: 'The API key lacks the scope this operation needs' },
  FORBIDDEN: { status: 403, message: 'You are not allowed to do this' },
  EMAIL_NOT_VERIFIED: { status: 403, message: 'Verify your email address first' },
  NOT_FOUND: { status: 404, message: 'The resource does not exist' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No route matches this path' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed on this resource' },
  NOT_ACCEPTABLE: { status: 406, message: 'The requested representation is not available' },
  EMAIL_TAKEN: { status: 409, message: 'This email is already registered' },
  VERSION_CONFLICT: { status: 409, message: 'The resource was changed by someone else; reload and retry' },
  IDEMPOTENCY_CONFLICT: { status: 409, message: 'This Idempotency-Key was used with a different request' },
  EMAIL_ALREADY_VERIFIED: { status: 409, message: 'This email address is already verified' },
  WEBHOOK_REPLAYED: { status: 409, message: 'This webhook event was already received' },
  CONFLICT: { status: 409, message: 'The request conflicts with the current state' },
  PRECONDITION_FAILED: { status: 412, message: 'The precondition given in the request failed' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json' },
  CART_EMPTY: { status: 422, message: 'The cart is empty' },
  INSUFFICIENT_STOCK: { status: 422, message: 'Not enough stock for some products' },
  INVALID_TRANSITION: { status: 422, message: 'This status change is not allowed' },
  REPLAY_FAILED: { status: 422, message: 'The consumer failed to handle the replayed event' },
  UNPROCESSABLE: { status: 422, message: 'The request is valid but cannot be processed' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later' },
  QUOTA_EXCEEDED: { status: 429, message: 'The quota of your plan for this period is used up' },
  INTERNAL_ERROR: { status: 500, message: 'An internal error occurred' },
  BAD_GATEWAY: { status: 502, message: 'An upstream service answered with an invalid response' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'An upstream service did not answer in time' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCodes;

export interface ErrorDetail {
  field: string;
  message: string;
}

export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: ErrorDetail[];
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers?: Record<string, string>;

  constructor(
    code: ErrorCode,
    options: { message?: string; details?: ErrorDetail[]; headers?: Record<string, string> } = {},
  ) {
    super(options.message ?? errorCodes[code].message);
    this.name = 'ApiError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.details = options.details;
    this.headers = options.headers;
  }
}

export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[] };
  requestId: string;
}

export function errorBody(
  code: string,
  message: string,
  requestId: string,
  details?: ErrorDetail[],
): ErrorBody {
  return { error: details?.length ? { code, message, details } : { code, message }, requestId };
}
