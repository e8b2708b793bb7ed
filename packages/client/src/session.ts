import { ArmatureApiError } from './errors.ts';
import type { FetchLike } from './retry.ts';
import type { components } from './schema.d.ts';

type TokenPair = components['schemas']['TokenPair'];
type MfaChallenge = components['schemas']['MfaChallenge'];

export interface Credentials {
  email: string;
  password: string;
}

export interface SessionOptions {
  /** Refresh the access token when it has less than this left (default 60 s). */
  refreshBeforeMs?: number;
  /** The clock (default Date.now); tests pass their own. */
  now?: () => number;
}

/**
 * The signed-in state, held in memory only (never in storage a script could read): the access token
 * with its expiry and the refresh token. `accessToken()` refreshes ahead of the expiry, once however
 * many requests ask at the same moment; a refresh token the server refuses ends the session.
 */
export class Session {
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;
  readonly #refreshBeforeMs: number;
  readonly #now: () => number;
  #tokens: { accessToken: string; refreshToken: string; expiresAt: number } | undefined;
  #refreshing: Promise<void> | undefined;

  constructor(baseUrl: string, fetchImpl: FetchLike, options: SessionOptions = {}) {
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#fetch = fetchImpl;
    this.#refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
    this.#now = options.now ?? Date.now;
  }

  get signedIn(): boolean {
    return this.#tokens !== undefined;
  }

  /**
   * Signs in; throws `ArmatureApiError` (`INVALID_CREDENTIALS`, `RATE_LIMITED`, …) when refused. For
   * an account with two-factor sign-in it answers `{ mfaRequired: true, challenge }`: finish with
   * `completeMfa(challenge, code)`.
   */
  async login(
    credentials: Credentials,
  ): Promise<{ mfaRequired: false } | { mfaRequired: true; challenge: string }> {
    const answer = await this.#post<TokenPair | MfaChallenge>('/v1/auth/login', credentials);
    if ('mfaChallenge' in answer) return { mfaRequired: true, challenge: answer.mfaChallenge };
    this.#keep(answer);
    return { mfaRequired: false };
  }

  /** The second step of a two-factor sign-in: the challenge from `login` and a code (or a recovery code). */
  async completeMfa(challenge: string, code: string): Promise<void> {
    this.#keep(await this.#post<TokenPair>('/v1/auth/mfa', { mfaChallenge: challenge, code }));
  }

  /** Uses tokens obtained elsewhere (a server-side sign-in, say). */
  restore(tokens: TokenPair): void {
    this.#keep(tokens);
  }

  /** The access token to send now, refreshed first when it is about to expire. */
  async accessToken(): Promise<string | undefined> {
    const tokens = this.#tokens;
    if (!tokens) return undefined;
    if (tokens.expiresAt - this.#now() <= this.#refreshBeforeMs) await this.refresh();
    return this.#tokens?.accessToken;
  }

  /** Exchanges the refresh token for a new pair (rotated: the old refresh token is spent). */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#refresh().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /** Ends the session on the server and forgets the tokens, even if the server cannot be reached. */
  async logout(): Promise<void> {
    const tokens = this.#tokens;
    this.#tokens = undefined;
    if (tokens) await this.#post('/v1/auth/logout', { refreshToken: tokens.refreshToken }).catch(() => {});
  }

  async #refresh(): Promise<void> {
    const tokens = this.#tokens;
    if (!tokens) throw new Error('not signed in');
    try {
      this.#keep(await this.#post<TokenPair>('/v1/auth/refresh', { refreshToken: tokens.refreshToken }));
    } catch (error) {
      // A refused refresh token (expired, revoked, reused) ends the session; a network error does not.
      if (error instanceof ArmatureApiError && error.status === 401) this.#tokens = undefined;
      throw error;
    }
  }

  #keep(pair: TokenPair): void {
    this.#tokens = {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresAt: this.#now() + pair.expiresIn * 1000,
    };
  }

  async #post<T>(path: string, body: unknown): Promise<T> {
    const response = await this.#fetch(
      new Request(`${this.#baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    );
    if (!response.ok) throw await ArmatureApiError.from(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }
}
