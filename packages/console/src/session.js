/**
 * The admin's session: an access and refresh token pair kept in memory only (never in
 * localStorage), refreshed once when the access token is refused. A reload signs out.
 */
let tokens;
let onSignOut = () => {};

export function onSessionEnd(listener) {
  onSignOut = listener;
}

export function signedIn() {
  return tokens !== undefined;
}

async function json(response) {
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

export async function signIn(email, password) {
  const response = await fetch('/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await json(response);
  if (!response.ok) throw new Error(body?.error?.message ?? `sign-in failed (${response.status})`);
  tokens = { access: body.accessToken, refresh: body.refreshToken };
  const me = await api('GET', '/v1/users/me');
  if (me.role !== 'admin') {
    signOut();
    throw new Error('This account is not an admin: the console is for admins only.');
  }
  return me;
}

export function signOut() {
  const refresh = tokens?.refresh;
  tokens = undefined;
  if (refresh) {
    fetch('/v1/auth/logout', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: refresh }),
    }).catch(() => {});
  }
  onSignOut();
}

async function refresh() {
  const response = await fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refreshToken: tokens?.refresh }),
  });
  if (!response.ok) return false;
  const body = await json(response);
  tokens = { access: body.accessToken, refresh: body.refreshToken };
  return true;
}

export class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `request failed (${status})`);
    this.status = status;
    this.body = body;
  }
}

/** A call to the API with the admin's token; a refused token is refreshed once, then the session ends. */
export async function api(method, path, body) {
  const send = () =>
    fetch(path, {
      method,
      // Answers differ by caller: never reuse one from the browser's cache (another admin's, say).
      cache: 'no-store',
      headers: {
        authorization: `Bearer ${tokens?.access}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  let response = await send();
  if (response.status === 401 && tokens && (await refresh())) response = await send();
  if (response.status === 401) {
    signOut();
    throw new ApiFailure(401, await json(response));
  }
  const parsed = await json(response);
  if (!response.ok) throw new ApiFailure(response.status, parsed);
  return parsed;
}
