import type { Principal } from '@armature/platform';
import jsonMergePatch from 'json-merge-patch';
import type { Role } from '../db/schema.ts';
import type { UserChanges, UserRow } from '../db/users.ts';

/** What the user rules refuse; `http/` maps each to the envelope. */
export type UserRefusalReason = 'role-change-needs-admin' | 'admin-registration-needs-admin';

export class UserRefusal extends Error {
  readonly reason: UserRefusalReason;
  constructor(reason: UserRefusalReason) {
    super(reason);
    this.reason = reason;
    this.name = 'UserRefusal';
  }
}

/** Who may give a user a role: only an admin, whatever the target. Repeating the current role is no change. */
export function assertMayChangeRole(caller: Principal, current: Role, requested: Role | undefined): void {
  if (requested === undefined || requested === current) return;
  if (!caller.isAdmin) throw new UserRefusal('role-change-needs-admin');
}

/** Registering an admin takes an admin; anyone may register a member. */
export function assertMayRegister(callerIsAdmin: boolean, role: Role): void {
  if (role === 'admin' && !callerIsAdmin) throw new UserRefusal('admin-registration-needs-admin');
}

/** The `ETag` of a user: its version, which changes on every write. */
export function userEtag(user: { version: number }): string {
  return `"${user.version}"`;
}

/** Applies a JSON Merge Patch (RFC 7396) to the editable part of a user. */
export function mergeUserPatch(
  current: UserRow,
  patch: { email?: string; name?: string; role?: Role },
): UserChanges {
  const document = { email: current.email, name: current.name, role: current.role };
  return jsonMergePatch.apply(document, patch) as UserChanges;
}

/** `2024-01-15` is midnight UTC; a date-time without an offset is read as UTC too, never as server time. */
export function instantInUtc(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const hasTime = /[Tt ]\d{2}:\d{2}/.test(raw);
  const hasZone = /([Zz]|[+-]\d{2}:?\d{2})$/.test(raw);
  return hasTime && !hasZone ? `${raw}Z` : raw;
}
