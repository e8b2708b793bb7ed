import { ApiError, type Principal, type SortKey } from '@armature/platform';
import jsonMergePatch from 'json-merge-patch';
import type { Role } from '../db/schema.ts';
import type { UserChanges, UserRow, UserSortColumn } from '../db/users.ts';

/** Who may give a user a role: only an admin, whatever the target. Repeating the current role is no change. */
export function assertMayChangeRole(caller: Principal, current: Role, requested: Role | undefined): void {
  if (requested === undefined || requested === current) return;
  if (!caller.isAdmin) {
    throw new ApiError('FORBIDDEN', { message: 'Only an admin can change a role' });
  }
}

/** Registering an admin takes an admin; anyone may register a member. */
export function assertMayRegister(callerIsAdmin: boolean, role: Role): void {
  if (role === 'admin' && !callerIsAdmin) {
    throw new ApiError('FORBIDDEN', { message: 'Only an admin can create an admin' });
  }
}

/**
 * The version a write must match: from the body, from `If-Match`, or both (then they must agree:
 * one of them is stale). Undefined when the caller gave none: the write is then unconditional.
 */
export function expectedVersion(
  fromBody: number | undefined,
  fromIfMatch: number | undefined,
): number | undefined {
  if (fromBody !== undefined && fromIfMatch !== undefined && fromBody !== fromIfMatch) {
    throw new ApiError('VERSION_CONFLICT', {
      message: 'The version in the body and in If-Match differ',
      details: [{ field: 'version', message: `is ${fromBody} in the body and ${fromIfMatch} in If-Match` }],
    });
  }
  return fromBody ?? fromIfMatch;
}

/** `"3"`, `W/"3"` or `3` → 3; `*` or no header → undefined; anything else is a 400 naming `If-Match`. */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(header);
  const version = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ApiError('VALIDATION_ERROR', {
      details: [{ field: 'If-Match', message: 'must be the ETag of the user, e.g. "3"' }],
    });
  }
  return version;
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

export const sortColumns: Record<'createdAt' | 'name' | 'email', UserSortColumn> = {
  createdAt: 'created_at',
  name: 'name',
  email: 'email',
};

export const defaultUserSort: SortKey<'createdAt' | 'name' | 'email'>[] = [
  { key: 'createdAt', direction: 'desc' },
];

/** `2024-01-15` is midnight UTC; a date-time without an offset is read as UTC too, never as server time. */
export function instantInUtc(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const hasTime = /[Tt ]\d{2}:\d{2}/.test(raw);
  const hasZone = /([Zz]|[+-]\d{2}:?\d{2})$/.test(raw);
  return hasTime && !hasZone ? `${raw}Z` : raw;
}
