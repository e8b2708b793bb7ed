import type { Principal } from '@armature/platform';
import { describe, expect, it } from 'vitest';
import type { UserRow } from '../db/users.ts';
import {
  assertMayChangeRole,
  assertMayRegister,
  instantInUtc,
  mergeUserPatch,
  type UserRefusal,
} from './users.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as UserRefusal).reason;
  }
  return 'no error';
};

const principal = (isAdmin: boolean): Principal => ({
  userId: 'usr_01h455vb4pex5vsknk084sn02q',
  email: 'a@example.com',
  roles: [isAdmin ? 'admin' : 'member'],
  exp: 0,
  isAdmin,
});

const row: UserRow = {
  id: '0190a4f4-0000-7000-8000-000000000000',
  email: 'a@example.com',
  email_verified_at: null,
  name: 'Ada',
  role: 'member',
  version: 3,
  created_at: new Date(),
  updated_at: new Date(),
};

describe('role rules', () => {
  it('lets only an admin change a role; repeating the current one is no change', () => {
    expect(codeOf(() => assertMayChangeRole(principal(false), 'member', 'admin'))).toBe(
      'role-change-needs-admin',
    );
    expect(codeOf(() => assertMayChangeRole(principal(false), 'member', 'member'))).toBe('no error');
    expect(codeOf(() => assertMayChangeRole(principal(false), 'member', undefined))).toBe('no error');
    expect(codeOf(() => assertMayChangeRole(principal(true), 'member', 'admin'))).toBe('no error');
  });
  it('lets anyone register a member and only an admin register an admin', () => {
    expect(codeOf(() => assertMayRegister(false, 'member'))).toBe('no error');
    expect(codeOf(() => assertMayRegister(false, 'admin'))).toBe('admin-registration-needs-admin');
    expect(codeOf(() => assertMayRegister(true, 'admin'))).toBe('no error');
  });
});

describe('JSON Merge Patch of a user', () => {
  it('changes the members given and keeps the others', () => {
    expect(mergeUserPatch(row, { name: 'Grace' })).toEqual({
      email: row.email,
      name: 'Grace',
      role: 'member',
    });
    expect(mergeUserPatch(row, {})).toEqual({ email: row.email, name: 'Ada', role: 'member' });
  });
});

describe('instants in filters', () => {
  it('reads a date-time without an offset as UTC and leaves the rest alone', () => {
    expect(instantInUtc('2024-01-15T10:30:00')).toBe('2024-01-15T10:30:00Z');
    expect(instantInUtc('2024-01-15T10:30:00+02:00')).toBe('2024-01-15T10:30:00+02:00');
    expect(instantInUtc('2024-01-15')).toBe('2024-01-15');
    expect(instantInUtc(undefined)).toBeUndefined();
  });
});
