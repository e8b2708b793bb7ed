import createFetchClient, { type Client, type Middleware } from 'openapi-fetch';
import { ArmatureApiError } from './errors.ts';
import { idempotentOperations } from './idempotent-operations.ts';
import { type ListInit, type ListItem, type ListPath, paginate } from './paginate.ts';
import { type FetchLike, type RetryOptions, retryingFetch } from './retry.ts';
import type { paths } from './schema.d.ts';
import { Session, type SessionOptions } from './session.ts';

/** A typed client of the Armature API: `client.GET('/v1/users/{id}', { params: { path: { id } } })`. */
export type ArmatureClient = Client<paths>;

export interface ArmatureClientOptions {
  /**
   * The access token sent as `Authorization: Bearer …`. A function is asked before every request, so
   * a token obtained or refreshed later is picked up.
   */
  token?: string | (() => string | undefined);
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one), e.g. one that checks every answer against the contract. */
  fetch?: FetchLike;
  /** openapi-fetch middleware, run in order. */
  middleware?: Middleware[];
}

/**
 * The bare typed client: answers come back as `{ data, error, response }`, nothing is retried or
 * added. `createArmature` is the one an application wants.
 */
export function createClient(baseUrl: string, options: ArmatureClientOptions = {}): ArmatureClient {
  const client = createFetchClient<paths>({ baseUrl, headers: options.headers, fetch: options.fetch });
  const { token } = options;
  if (token !== undefined) {
    client.use({
      onRequest({ request }) {
        const value = typeof token === 'function' ? token() : token;
        if (value && !request.headers.has('authorization'))
          request.headers.set('authorization', `Bearer ${value}`);
        return request;
      },
    });
  }
  if (options.middleware?.length) client.use(...options.middleware);
  return client;
}

export interface ArmatureOptions {
  /** The gateway, e.g. `http://localhost:8080`; paths include the version (`/v1/…`, `/v2/…`). */
  baseUrl: string;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The fetch underneath (default: the global one). */
  fetch?: FetchLike;
  /** Retries of safe requests (see `RetryOptions`); `false` turns them off. */
  retry?: RetryOptions | false;
  /** When the access token is refreshed, and the clock. */
  session?: SessionOptions;
  /** Makes the `Idempotency-Key` of a create or checkout (default a random UUID). */
  idempotencyKey?: () => string;
  /** More openapi-fetch middleware, run after the client's own. */
  middleware?: Middleware[];
}

export interface Armature {
  /** Every operation of the contract, typed; a refusal throws `ArmatureApiError`. */
  api: ArmatureClient;
  /** Sign-in state: `login`, `logout`, `refresh`, `accessToken`. */
  auth: Session;
  /** Every item of a list, page by page: `for await (const order of armature.paginate('/v1/users/{id}/orders', …))`. */
  paginate<P extends ListPath>(path: P, init?: ListInit): AsyncGenerator<ListItem<P>, void, undefined>;
}

/**
 * The client an application uses: signed-in requests with the token refreshed before it expires,
 * an `Idempotency-Key` on every create and checkout (the same on each retry), retries of what is safe
 * to repeat with backoff and `Retry-After`, refusals thrown as `ArmatureApiError`, and lists as
 * async iterators.
 */
export function createArmature(options: ArmatureOptions): Armature {
  const base: FetchLike = options.fetch ?? ((request) => globalThis.fetch(request));
  const transport = options.retry === false ? base : retryingFetch(base, options.retry);
  const auth = new Session(options.baseUrl, transport, options.session);
  const newKey = options.idempotencyKey ?? (() => globalThis.crypto.randomUUID());

  const api = createFetchClient<paths>({
    baseUrl: options.baseUrl,
    headers: options.headers,
    fetch: signedIn(auth, transport),
  });
  api.use({
    onRequest({ request, schemaPath }) {
      if (
        idempotentOperations.has(`${request.method} ${schemaPath}`) &&
        !request.headers.has('idempotency-key')
      )
        request.headers.set('idempotency-key', newKey());
      return request;
    },
    async onResponse({ response }) {
      if (response.status >= 400) throw await ArmatureApiError.from(response);
      return response;
    },
  });
  if (options.middleware?.length) api.use(...options.middleware);
  return { api, auth, paginate: (path, init) => paginate(api, path, init) };
}

/**
 * Adds the session's access token; when one is refused (revoked on the server, a clock that
 * disagrees), refreshes once and sends the request again.
 */
function signedIn(auth: Session, transport: FetchLike): FetchLike {
  const send = async (request: Request) => {
    const token = await auth.accessToken();
    const attempt = request.clone();
    if (token && !attempt.headers.has('authorization'))
      attempt.headers.set('authorization', `Bearer ${token}`);
    return { response: await transport(attempt), sentToken: Boolean(token) };
  };
  return async (request) => {
    const first = await send(request);
    if (first.response.status !== 401 || !first.sentToken || request.headers.has('authorization'))
      return first.response;
    try {
      await auth.refresh();
    } catch {
      return first.response;
    }
    await first.response.body?.cancel();
    return (await send(request)).response;
  };
}
