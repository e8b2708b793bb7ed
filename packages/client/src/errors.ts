/** One problem with one field, as the API's error envelope lists them. */
export interface ApiErrorDetail {
  field: string;
  message: string;
}

/**
 * A refusal from the API, with what its error envelope says: `code` is stable (`VALIDATION_ERROR`,
 * `NOT_FOUND`, `RATE_LIMITED`, …) and is what code should branch on; `requestId` finds the answer in
 * the server's logs.
 */
export class ArmatureApiError extends Error {
  override readonly name = 'ArmatureApiError';
  readonly status: number;
  readonly code: string;
  readonly details: ApiErrorDetail[];
  readonly requestId: string | undefined;
  readonly response: Response;

  constructor(response: Response, body: unknown) {
    const envelope = asEnvelope(body);
    const code = envelope?.error.code ?? `HTTP_${response.status}`;
    super(envelope?.error.message ?? `${response.status} ${response.statusText || 'error'}`.trim());
    this.status = response.status;
    this.code = code;
    this.details = envelope?.error.details ?? [];
    this.requestId = envelope?.requestId ?? response.headers.get('x-request-id') ?? undefined;
    this.response = response;
  }

  /** Reads the envelope from a refused response (its body is consumed). */
  static async from(response: Response): Promise<ArmatureApiError> {
    const text = await response.text().catch(() => '');
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return new ArmatureApiError(response, body);
  }
}

export function isArmatureApiError(error: unknown): error is ArmatureApiError {
  return error instanceof ArmatureApiError;
}

interface Envelope {
  error: { code: string; message: string; details?: ApiErrorDetail[] };
  requestId?: string;
}

function asEnvelope(body: unknown): Envelope | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return body as Envelope;
}
