import createFetchClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from './schema.d.ts';

export type { Middleware } from 'openapi-fetch';
export type { components, operations, paths };

/** A typed client of the Armature API: `client.GET('/v1/users/{id}', { params: { path: { id } } })`. */
export type ArmatureClient = Client<paths>;
/** The named schemas of the contract: `Schemas['User']`. */
export type Schemas = components['schemas'];

export interface ArmatureClientOptions {
  /**
   * The access token sent as `Authorization: Bearer …`. A function is asked before every request, so
   * a token obtained or refreshed later is picked up.
   */
  token?: string | (() => string | undefined);
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The fetch to use (default: the global one), e.g. one that checks every answer against the contract. */
  fetch?: (request: Request) => Promise<Response>;
  /** openapi-fetch middleware, run in order. */
  middleware?: Middleware[];
}

/** A client for the gateway at `baseUrl` (e.g. `http://localhost:8080`); paths include the version. */
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
