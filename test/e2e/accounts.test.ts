import { randomUUID } from 'node:crypto';
import { mode } from '@armature/testing/databases';
import { linkToken, type Mailbox, startMailbox } from '@armature/testing/mailbox';
import { startSystem, type TestSystem } from '@armature/testing/system';
import type { UsersService } from '@armature/users';
import { decodeJwt } from 'jose';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { eventually } from '../../packages/platform/src/events/test-support.ts';

/**
 * The account flows a member lives with, through the gateway, each link read from the mail as the
 * member would read it: from the mail folder on the embedded adapters, from a real SMTP server in the
 * scale-out pass.
 */

const admin = { email: 'accounts-admin@example.com', password: 'accounts admin password' };

let system: TestSystem;
let mailbox: Mailbox;

beforeAll(async () => {
  mailbox = await startMailbox();
  system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    PUBLIC_URL: 'https://shop.example.com',
    // Second factors are sealed at rest with the key that seals the signing keys.
    JWT_KEY_ENCRYPTION_SECRET: 'a secret of the accounts suite',
    ...mailbox.env,
  });
});

afterAll(async () => {
  await system?.close();
  await mailbox?.close();
});

interface Login {
  accessToken: string;
  refreshToken: string;
}

interface Member {
  id: string;
  email: string;
  password: string;
  name: string;
}

async function login(email: string, password: string, userAgent = 'accounts-test'): Promise<Login> {
  const response = await system.fetch('/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ email, password }),
  });
  const body = (await response.json()) as Login;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

async function register(label: string): Promise<Member> {
  const member = {
    email: `${label}-${randomUUID().slice(0, 8)}@example.com`,
    password: `the password of ${label}`,
    name: label,
  };
  const created = await system.call('POST', '/v1/users', { body: member });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return { ...member, id: created.body.id };
}

const refresh = (refreshToken: string) => system.call('POST', '/v1/auth/refresh', { body: { refreshToken } });
const loginStatus = async (email: string, password: string) =>
  (await system.call('POST', '/v1/auth/login', { body: { email, password } })).status;

describe(`changing a password (${mode})`, () => {
  it('sets the new password and ends every other session; the caller’s stays', async () => {
    const member = await register('changer');
    const here = await login(member.email, member.password);
    const elsewhere = await login(member.email, member.password);
    const changed = await system.call('PUT', '/v1/users/me/password', {
      token: here.accessToken,
      body: { currentPassword: member.password, newPassword: 'a brand new password' },
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(204);

    expect((await refresh(elsewhere.refreshToken)).status).toBe(401);
    expect((await refresh(here.refreshToken)).status).toBe(200);
    expect(await loginStatus(member.email, member.password)).toBe(401);
    expect(await loginStatus(member.email, 'a brand new password')).toBe(200);
  });

  it('refuses a wrong current password with 401 and changes nothing', async () => {
    const member = await register('forgetful');
    const session = await login(member.email, member.password);
    const refused = await system.call('PUT', `/v1/users/${member.id}/password`, {
      token: session.accessToken,
      body: { currentPassword: 'not the password', newPassword: 'another new password' },
    });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('INVALID_CREDENTIALS');
    expect(await loginStatus(member.email, member.password)).toBe(200);
    expect((await refresh(session.refreshToken)).status).toBe(200);
  });

  it('cannot be done with a stolen access token alone: the current password is required', async () => {
    const member = await register('robbed');
    const stolen = await login(member.email, member.password);
    const withoutCurrent = await system.call('PUT', '/v1/users/me/password', {
      token: stolen.accessToken,
      body: { newPassword: 'the thief’s password' },
    });
    expect(withoutCurrent.status).toBe(400);
    expect(withoutCurrent.body.error.code).toBe('VALIDATION_ERROR');
    expect(await loginStatus(member.email, member.password)).toBe(200);
    expect(await loginStatus(member.email, 'the thief’s password')).toBe(401);
  });

  it('is refused for another user’s password, even to an admin (403)', async () => {
    const member = await register('target');
    const other = await register('other');
    const otherSession = await login(other.email, other.password);
    const adminSession = await login(admin.email, admin.password);
    for (const token of [otherSession.accessToken, adminSession.accessToken]) {
      const refused = await system.call('PUT', `/v1/users/${member.id}/password`, {
        token,
        body: { currentPassword: member.password, newPassword: 'someone else’s choice' },
      });
      expect(refused.status).toBe(403);
    }
    expect(await loginStatus(member.email, member.password)).toBe(200);
  });

  it('validates the new password against the registration rules', async () => {
    const member = await register('short');
    const session = await login(member.email, member.password);
    const refused = await system.call('PUT', '/v1/users/me/password', {
      token: session.accessToken,
      body: { currentPassword: member.password, newPassword: 'short' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.error.details[0].field).toMatch(/newPassword/);
  });
});

describe(`sessions (${mode})`, () => {
  it('lists each login with its client, marks the current one, and ends any of them', async () => {
    const member = await register('traveller');
    const laptop = await login(member.email, member.password, 'Laptop Browser/1.0');
    const phone = await login(member.email, member.password, 'Phone App/2.0');

    const listed = await system.call('GET', '/v1/users/me/sessions', { token: laptop.accessToken });
    expect(listed.status, JSON.stringify(listed.body)).toBe(200);
    expect(listed.body.pagination).toMatchObject({ total: 2, hasMore: false });
    const [newest, oldest] = listed.body.data;
    expect(newest).toMatchObject({ userAgent: 'Phone App/2.0', current: false });
    expect(oldest).toMatchObject({ userAgent: 'Laptop Browser/1.0', current: true });
    expect(oldest.address).toMatch(/^[0-9a-f.:]+$/i);
    expect(oldest.id).toBe(decodeJwt(laptop.accessToken).sid);

    const ended = await system.call('DELETE', `/v1/users/me/sessions/${newest.id}`, {
      token: laptop.accessToken,
    });
    expect(ended.status).toBe(204);
    // The ended session works nowhere: its refresh token is refused...
    expect((await refresh(phone.refreshToken)).status).toBe(401);
    // ...and its access token dies with its own short life (15 minutes), which nothing extends.
    const claims = decodeJwt(phone.accessToken);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(900);

    const after = await system.call('GET', '/v1/users/me/sessions', { token: laptop.accessToken });
    expect(after.body.data.map((session: { id: string }) => session.id)).toEqual([oldest.id]);
    expect((await refresh(laptop.refreshToken)).status).toBe(200);
  });

  it('keeps a session’s id and client across refreshes, with its last use moving on', async () => {
    const member = await register('refresher');
    const first = await login(member.email, member.password, 'Refreshing Client');
    const next = await refresh(first.refreshToken);
    expect(next.status).toBe(200);
    expect(decodeJwt(next.body.accessToken).sid).toBe(decodeJwt(first.accessToken).sid);
    const listed = await system.call('GET', '/v1/users/me/sessions', { token: next.body.accessToken });
    expect(listed.body.data).toHaveLength(1);
    expect(listed.body.data[0]).toMatchObject({ userAgent: 'Refreshing Client', current: true });
    expect(listed.body.data[0].lastUsedAt >= listed.body.data[0].createdAt).toBe(true);
  });

  it('pages through sessions with page or cursor', async () => {
    const member = await register('many');
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await login(member.email, member.password));
    const token = sessions[0]!.accessToken;
    const first = await system.call('GET', '/v1/users/me/sessions?limit=2', { token });
    expect(first.body.pagination).toMatchObject({ total: 3, hasMore: true, page: 1 });
    const next = await system.call(
      'GET',
      `/v1/users/me/sessions?limit=2&cursor=${first.body.pagination.nextCursor}`,
      { token },
    );
    expect(next.body.data).toHaveLength(1);
    expect(next.body.data[0].current).toBe(true);
    const bad = await system.call('GET', '/v1/users/me/sessions?cursor=not-a-cursor', { token });
    expect(bad.status).toBe(400);
  });

  it('answers 404 for a session that is not the caller’s or has ended, and 403 for another user', async () => {
    const member = await register('owner');
    const other = await register('intruder');
    const mine = await login(member.email, member.password);
    const theirs = await login(other.email, other.password);
    const theirId = decodeJwt(theirs.accessToken).sid as string;

    const foreign = await system.call('DELETE', `/v1/users/me/sessions/${theirId}`, {
      token: mine.accessToken,
    });
    expect(foreign.status).toBe(404);
    expect((await refresh(theirs.refreshToken)).status).toBe(200);
    const malformed = await system.call('DELETE', '/v1/users/me/sessions/nope', { token: mine.accessToken });
    expect(malformed.status).toBe(404);
    const crossing = await system.call('GET', `/v1/users/${other.id}/sessions`, { token: mine.accessToken });
    expect(crossing.status).toBe(403);
  });

  it('lets an admin end every session of a user, and no member do so', async () => {
    const member = await register('suspended');
    const one = await login(member.email, member.password);
    const two = await login(member.email, member.password);
    const bystander = await register('bystander');
    const bystanderSession = await login(bystander.email, bystander.password);
    const refused = await system.call('DELETE', `/v1/users/${member.id}/sessions`, {
      token: bystanderSession.accessToken,
    });
    expect(refused.status).toBe(403);

    const adminSession = await login(admin.email, admin.password);
    const ended = await system.call('DELETE', `/v1/users/${member.id}/sessions`, {
      token: adminSession.accessToken,
    });
    expect(ended.status).toBe(204);
    expect((await refresh(one.refreshToken)).status).toBe(401);
    expect((await refresh(two.refreshToken)).status).toBe(401);
    expect((await refresh(bystanderSession.refreshToken)).status).toBe(200);
  });
});

describe(`resetting a forgotten password (${mode})`, () => {
  const requestReset = (email: string) =>
    system.fetch('/v1/auth/password-reset', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email }),
    });
  const confirm = (token: string, newPassword: string) =>
    system.call('POST', '/v1/auth/password-reset/confirm', { body: { token, newPassword } });

  it('mails a single-use link; confirming sets the password and ends every session', async () => {
    const member = await register('reset');
    const session = await login(member.email, member.password);
    const requested = await requestReset(member.email.toUpperCase());
    expect(requested.status).toBe(202);
    expect(await requested.text()).toBe('');

    const mail = await mailbox.next(member.email, /reset your password/i);
    expect(mail.text).toContain('https://shop.example.com/reset-password?token=');
    expect(mail.html).toContain('https://shop.example.com/reset-password?token=');
    const token = linkToken(mail);

    expect((await confirm(token, 'chosen after a reset')).status).toBe(204);
    expect(await loginStatus(member.email, 'chosen after a reset')).toBe(200);
    expect(await loginStatus(member.email, member.password)).toBe(401);
    expect((await refresh(session.refreshToken)).status).toBe(401);

    // Used twice: refused, and the password stays the one set the first time.
    const again = await confirm(token, 'a second reset with one link');
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('INVALID_LINK_TOKEN');
    expect(await loginStatus(member.email, 'chosen after a reset')).toBe(200);
  });

  it('answers an unknown email exactly as a known one, and mails nobody', async () => {
    const member = await register('known');
    const unknown = `nobody-${randomUUID().slice(0, 8)}@example.com`;
    const answers = [];
    for (const email of [unknown, member.email]) {
      const response = await requestReset(email);
      answers.push({
        status: response.status,
        body: await response.text(),
        headers: [...response.headers.keys()].filter(
          (name) => !/^(date|x-request-id|x-ratelimit-.*)$/.test(name),
        ),
      });
    }
    expect(answers[0]).toEqual(answers[1]);
    await mailbox.next(member.email, /reset your password/i);
    expect((await mailbox.all()).some((mail) => mail.to === unknown)).toBe(false);
  });

  it('refuses an expired link', async () => {
    const member = await register('late');
    await requestReset(member.email);
    const token = linkToken(await mailbox.next(member.email, /reset your password/i));
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() + 31 * 60 * 1000);
      const late = await confirm(token, 'too late for this');
      expect(late.status).toBe(400);
      expect(late.body.error.code).toBe('INVALID_LINK_TOKEN');
    } finally {
      vi.useRealTimers();
    }
    expect(await loginStatus(member.email, member.password)).toBe(200);
  });

  it('resets only the account the link was mailed for', async () => {
    const victim = await register('victim');
    const attacker = await register('attacker');
    await requestReset(attacker.email);
    const token = linkToken(await mailbox.next(attacker.email, /reset your password/i));
    expect((await confirm(token, 'attacker’s new password')).status).toBe(204);
    expect(await loginStatus(victim.email, 'attacker’s new password')).toBe(401);
    expect(await loginStatus(victim.email, victim.password)).toBe(200);
    expect(await loginStatus(attacker.email, 'attacker’s new password')).toBe(200);
  });

  it('refuses a made-up token and bad input with the error envelope', async () => {
    const madeUp = await confirm('A'.repeat(43), 'whatever password');
    expect(madeUp.status).toBe(400);
    expect(madeUp.body.error.code).toBe('INVALID_LINK_TOKEN');
    const malformed = await confirm('short', 'whatever password');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('VALIDATION_ERROR');
    const notEmail = await system.call('POST', '/v1/auth/password-reset', {
      body: { email: 'not an email' },
    });
    expect(notEmail.status).toBe(400);
  });

  it('keeps tokens out of the events', async () => {
    const member = await register('private');
    await requestReset(member.email);
    const token = linkToken(await mailbox.next(member.email, /reset your password/i));
    const adminSession = await login(admin.email, admin.password);
    const events = await system.call('GET', `/v1/events?aggregateId=${member.id}&limit=100`, {
      token: adminSession.accessToken,
    });
    expect(events.status).toBe(200);
    expect(JSON.stringify(events.body)).not.toContain(token);
  });
});

describe(`verifying an email address (${mode})`, () => {
  const verify = (token: string) => system.call('POST', '/v1/auth/verify-email', { body: { token } });
  const me = async (token: string) => (await system.call('GET', '/v1/users/me', { token })).body;

  it('mails a link at registration; following it sets emailVerifiedAt, once', async () => {
    const member = await register('newcomer');
    const session = await login(member.email, member.password);
    expect((await me(session.accessToken)).emailVerifiedAt).toBeNull();
    const mail = await mailbox.next(member.email, /confirm your email/i);
    expect(mail.text).toContain('https://shop.example.com/verify-email?token=');
    const token = linkToken(mail);
    expect((await verify(token)).status).toBe(204);
    const verified = await me(session.accessToken);
    expect(verified.emailVerifiedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(verified.version).toBe(2);
    const again = await verify(token);
    expect(again.status).toBe(400);
    expect(again.body.error.code).toBe('INVALID_LINK_TOKEN');
  });

  it('clears the verification when the email changes and mails the new address', async () => {
    const member = await register('mover');
    const session = await login(member.email, member.password);
    const oldToken = linkToken(await mailbox.next(member.email, /confirm your email/i));
    expect((await verify(oldToken)).status).toBe(204);

    const secondOld = await system.call('POST', '/v1/users/me/email-verification', {
      token: session.accessToken,
    });
    expect(secondOld.status).toBe(409);

    const newEmail = `moved-${randomUUID().slice(0, 8)}@example.com`;
    const patched = await system.call('PATCH', '/v1/users/me', {
      token: session.accessToken,
      body: { email: newEmail },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.emailVerifiedAt).toBeNull();
    const newToken = linkToken(await mailbox.next(newEmail, /confirm your email/i));
    expect((await verify(newToken)).status).toBe(204);
    expect((await me(session.accessToken)).emailVerifiedAt).not.toBeNull();
  });

  it('does not let a link mailed to a former address verify the new one', async () => {
    const member = await register('switcher');
    const session = await login(member.email, member.password);
    const oldToken = linkToken(await mailbox.next(member.email, /confirm your email/i));
    const newEmail = `switched-${randomUUID().slice(0, 8)}@example.com`;
    await system.call('PATCH', '/v1/users/me', { token: session.accessToken, body: { email: newEmail } });
    const refused = await verify(oldToken);
    expect(refused.status).toBe(400);
    expect((await me(session.accessToken)).emailVerifiedAt).toBeNull();
  });

  it('sends the mail again on request, and a name change sends none', async () => {
    const member = await register('patient');
    const session = await login(member.email, member.password);
    await mailbox.next(member.email, /confirm your email/i);
    await system.call('PATCH', '/v1/users/me', { token: session.accessToken, body: { name: 'Renamed' } });
    const resent = await system.call('POST', '/v1/users/me/email-verification', {
      token: session.accessToken,
    });
    expect(resent.status).toBe(202);
    const second = await mailbox.next(member.email, /confirm your email/i, 2);
    expect(await mailbox.next(member.email, /confirm your email/i)).not.toEqual(second);
    expect((await mailbox.all()).filter((mail) => mail.to === member.email)).toHaveLength(2);
    expect((await verify(linkToken(second))).status).toBe(204);
  });
});

/** The users service's own database, where its mail waits for delivery. */
const outbox = () => (system.services.users as UsersService).database.db;

describe(`mail while the mail server is down (${mode})`, () => {
  it('accepts resets, then delivers each mail once when the server returns', async (ctx) => {
    ctx.skip(mailbox.kind !== 'smtp', 'the mail folder cannot be down; the scale-out pass runs this on SMTP');
    const members = [await register('outage-a'), await register('outage-b'), await register('outage-c')];
    for (const member of members) await mailbox.next(member.email, /confirm your email/i);
    await mailbox.down();
    for (const member of members) {
      const response = await system.call('POST', '/v1/auth/password-reset', {
        body: { email: member.email },
      });
      expect(response.status).toBe(202);
    }
    // Every reset mail has been tried, and has failed, at least once before the server returns.
    await eventually('failed delivery attempts', async () => {
      const rows = await outbox().selectFrom('mail_outbox').select(['attempts', 'last_error']).execute();
      return rows.length === members.length && rows.every((row) => row.attempts >= 1 && row.last_error);
    });
    await mailbox.up();
    for (const member of members) await mailbox.next(member.email, /reset your password/i);
    await eventually('an empty mail outbox', async () => {
      const rows = await outbox().selectFrom('mail_outbox').select('id').execute();
      return rows.length === 0;
    });
    for (const member of members) {
      const resets = (await mailbox.all()).filter(
        (mail) => mail.to === member.email && /reset your password/i.test(mail.subject),
      );
      expect(resets).toHaveLength(1);
    }
  });
});

describe(`two-factor sign-in (${mode})`, () => {
  /** The code an authenticator app shows `stepsAhead` 30-second steps from now. */
  const codeOf = (secret: string, stepsAhead = 0) =>
    TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: Date.now() + stepsAhead * 30_000 });

  /** A member with two-factor sign-in on (its first code spent), their secret and recovery codes. */
  async function enrolled(label: string) {
    const member = await register(label);
    const session = await login(member.email, member.password);
    const started = await system.call('POST', '/v1/users/me/mfa', { token: session.accessToken });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    expect(started.body.otpauthUri).toMatch(/^otpauth:\/\/totp\/Armature:.+\?.*secret=/);
    const secret = started.body.secret as string;
    const confirmed = await system.call('PUT', '/v1/users/me/mfa', {
      token: session.accessToken,
      body: { enabled: true, code: codeOf(secret) },
    });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    return { member, session, secret, recoveryCodes: confirmed.body.recoveryCodes as string[] };
  }

  const passwordStep = async (email: string, password: string) => {
    const answer = await system.call('POST', '/v1/auth/login', { body: { email, password } });
    expect(answer.status, JSON.stringify(answer.body)).toBe(202);
    return answer.body.mfaChallenge as string;
  };
  const codeStep = (mfaChallenge: string, code: string) =>
    system.call('POST', '/v1/auth/mfa', { body: { mfaChallenge, code } });

  it('enrols with a first code, then signs in with the password and a code', async () => {
    const { member, session, secret, recoveryCodes } = await enrolled('two-step');
    expect(recoveryCodes).toHaveLength(10);
    const status = await system.call('GET', '/v1/users/me/mfa', { token: session.accessToken });
    expect(status.body).toEqual({ enabled: true, recoveryCodesLeft: 10 });

    const challenge = await passwordStep(member.email, member.password);
    const signedIn = await codeStep(challenge, codeOf(secret, 1));
    expect(signedIn.status, JSON.stringify(signedIn.body)).toBe(200);
    expect(signedIn.body.accessToken).toBeTruthy();
    // A challenge is spent by its sign-in.
    expect((await codeStep(challenge, codeOf(secret, 1))).status).toBe(401);
    // A wrong password still gets no challenge.
    expect(await loginStatus(member.email, 'not the password')).toBe(401);
  });

  it('refuses an enrolment confirmed with a wrong code, and keeps sign-in as it was', async () => {
    const member = await register('unsure');
    const session = await login(member.email, member.password);
    const started = await system.call('POST', '/v1/users/me/mfa', { token: session.accessToken });
    const wrong = String((Number(codeOf(started.body.secret)) + 500_000) % 1_000_000).padStart(6, '0');
    const refused = await system.call('PUT', '/v1/users/me/mfa', {
      token: session.accessToken,
      body: { enabled: true, code: wrong },
    });
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('INVALID_MFA_CODE');
    expect(await loginStatus(member.email, member.password)).toBe(200);
  });

  it('stops guessing: a challenge dies after five wrong codes, even for the right one next', async () => {
    const { member, secret } = await enrolled('guessed');
    const challenge = await passwordStep(member.email, member.password);
    const right = codeOf(secret, 1);
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    for (let i = 0; i < 5; i++) {
      const refused = await codeStep(challenge, wrong);
      expect(refused.status).toBe(401);
      expect(refused.body.error.code).toBe('INVALID_MFA_CODE');
    }
    expect((await codeStep(challenge, right)).status).toBe(401);
    // A new password step gives a new challenge, where the right code works.
    expect((await codeStep(await passwordStep(member.email, member.password), right)).status).toBe(200);
  });

  it('takes each recovery code once, in place of a code', async () => {
    const { member, session, recoveryCodes } = await enrolled('recovering');
    const [first, second] = recoveryCodes;
    expect((await codeStep(await passwordStep(member.email, member.password), first!)).status).toBe(200);
    const reused = await codeStep(await passwordStep(member.email, member.password), first!);
    expect(reused.status).toBe(401);
    expect((await codeStep(await passwordStep(member.email, member.password), second!)).status).toBe(200);
    const status = await system.call('GET', '/v1/users/me/mfa', { token: session.accessToken });
    expect(status.body.recoveryCodesLeft).toBe(8);
  });

  it('refuses a code used once already (the enrolment’s) and a code of another account', async () => {
    const { member, secret } = await enrolled('replayed');
    const other = await enrolled('neighbour');
    const challenge = await passwordStep(member.email, member.password);
    expect((await codeStep(challenge, codeOf(secret))).status).toBe(401);
    expect((await codeStep(challenge, codeOf(other.secret, 1))).status).toBe(401);
  });

  it('turns off only with a code, and sign-in is one step again', async () => {
    const { member, session, secret } = await enrolled('done-with-it');
    const without = await system.call('PUT', '/v1/users/me/mfa', {
      token: session.accessToken,
      body: { enabled: false, code: '000000' === codeOf(secret, 1) ? '111111' : '000000' },
    });
    expect(without.status).toBe(401);
    const off = await system.call('PUT', '/v1/users/me/mfa', {
      token: session.accessToken,
      body: { enabled: false, code: codeOf(secret, 1) },
    });
    expect(off.status, JSON.stringify(off.body)).toBe(200);
    expect(off.body).toEqual({ enabled: false, recoveryCodesLeft: 0 });
    expect(await loginStatus(member.email, member.password)).toBe(200);
  });

  it('is a 409 to enrol twice, and nobody else’s business (403)', async () => {
    const { session, member } = await enrolled('settled');
    expect((await system.call('POST', '/v1/users/me/mfa', { token: session.accessToken })).status).toBe(409);
    const adminSession = await login(admin.email, admin.password);
    const meddling = await system.call('POST', `/v1/users/${member.id}/mfa`, {
      token: adminSession.accessToken,
    });
    expect(meddling.status).toBe(403);
    const peek = await system.call('GET', `/v1/users/${member.id}/mfa`, { token: adminSession.accessToken });
    expect(peek.body.enabled).toBe(true);
  });

  it('keeps the secret sealed at rest (JWT_KEY_ENCRYPTION_SECRET is set here)', async () => {
    const { member, secret } = await enrolled('stored');
    const uuid = (await import('../../packages/platform/src/ids.ts')).parsePublicId('user', member.id)!;
    const row = await (system.services.users as UsersService).database.db
      .selectFrom('mfa_factors')
      .select('secret')
      .where('user_id', '=', uuid)
      .executeTakeFirstOrThrow();
    expect(row.secret).toMatch(/^v1\.aes-256-gcm\.scrypt\./);
    expect(row.secret).not.toContain(secret);
  });
});
