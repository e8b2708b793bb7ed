import { fromString, fromUUID, TypeID, toUUID } from 'typeid-js';
import { ApiError } from './errors.ts';

/**
 * Public ids are TypeIDs: a prefix naming the kind plus base32 of a UUIDv7 (`usr_01h…`). Databases keep
 * the UUID; these helpers convert at the edge so no query ever sees a public id.
 */
export const idPrefixes = {
  user: 'usr',
  order: 'ord',
  product: 'prd',
  event: 'evt',
  token: 'tok',
  session: 'ses',
  apiKey: 'key',
} as const;
export type IdKind = keyof typeof idPrefixes;

/** A fresh UUIDv7 (time-ordered, so inserts stay append-only in b-tree indexes). */
export function newUuid(): string {
  return new TypeID('x').toUUID();
}

export function toPublicId(kind: IdKind, uuid: string): string {
  // The functional API skips the TypeID object the class builds: ids are encoded on every row of a list.
  return fromUUID(uuid, idPrefixes[kind]);
}

/** The UUID behind a public id, or undefined when it is malformed or of another kind. */
export function parsePublicId(kind: IdKind, publicId: string): string | undefined {
  try {
    return toUUID(fromString(publicId, idPrefixes[kind]));
  } catch {
    return undefined;
  }
}

/** Like parsePublicId, but a malformed id is a 404: to the caller it names nothing that exists. */
export function requirePublicId(kind: IdKind, publicId: string): string {
  const uuid = parsePublicId(kind, publicId);
  if (!uuid) throw new ApiError('NOT_FOUND');
  return uuid;
}

/** Public ids of one kind of a service's own (`publicIds('not')` → `not_01h…`), converted at the edge. */
export function publicIds(prefix: string) {
  return {
    prefix,
    toPublic: (uuid: string) => fromUUID(uuid, prefix),
    /** The UUID behind a public id, or undefined when it is malformed or of another kind. */
    parse(publicId: string): string | undefined {
      try {
        return toUUID(fromString(publicId, prefix));
      } catch {
        return undefined;
      }
    },
    /** Like `parse`, but a malformed id is a 404: to the caller it names nothing that exists. */
    require(publicId: string): string {
      const uuid = this.parse(publicId);
      if (!uuid) throw new ApiError('NOT_FOUND');
      return uuid;
    },
  };
}
