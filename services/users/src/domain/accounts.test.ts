import { describe, expect, it } from 'vitest';
import { assertLinkTokenUsable, InvalidLinkTokenError, sessionStartedAt } from './accounts.ts';

const now = new Date('2026-01-15T10:30:00Z');
const later = new Date('2026-01-15T11:00:00Z');
const account = { email: 'Ada@Example.com' };

describe('a link token', () => {
  it('may be spent once, before it expires, for the address it was mailed to (case aside)', () => {
    expect(() =>
      assertLinkTokenUsable({ expiresAt: later, usedAt: null, email: 'ada@example.com' }, account, now),
    ).not.toThrow();
  });

  it('is refused when unknown, used, expired (at the instant itself), mailed elsewhere, or its user is gone', () => {
    const cases = [
      [undefined, account],
      [{ expiresAt: later, usedAt: now, email: 'ada@example.com' }, account],
      [{ expiresAt: now, usedAt: null, email: 'ada@example.com' }, account],
      [{ expiresAt: later, usedAt: null, email: 'former@example.com' }, account],
      [{ expiresAt: later, usedAt: null, email: 'ada@example.com' }, undefined],
    ] as const;
    for (const [token, owner] of cases) {
      expect(() => assertLinkTokenUsable(token, owner, now)).toThrow(InvalidLinkTokenError);
    }
  });
});

describe('a session', () => {
  it('began when its UUIDv7 id was made', () => {
    expect(sessionStartedAt('0190a5b2-4c00-7000-8000-000000000000').toISOString()).toBe(
      new Date(0x0190a5b24c00).toISOString(),
    );
  });
});
