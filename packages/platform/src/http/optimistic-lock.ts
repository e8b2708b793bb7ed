import { ApiError } from '../errors.ts';

/**
 * `If-Match: "3"` (or `W/"3"`, or `3`) → 3; `*` or no header → undefined (no condition from the
 * header); anything else is a 400 naming `If-Match`. `resource` names what the ETag belongs to.
 */
export function parseIfMatch(header: string | undefined, resource: string): number | undefined {
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,10})"?\s*$/.exec(header);
  const version = match ? Number(match[1]) : Number.NaN;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new ApiError('VALIDATION_ERROR', {
      details: [{ field: 'If-Match', message: `must be the ETag of the ${resource}, e.g. "3"` }],
    });
  }
  return version;
}

/**
 * The version a write must match, from the body's `version`, from `If-Match`, or both. Both given and
 * different: one of them is stale, so it is the same 409 VERSION_CONFLICT a stale version gets, in
 * every service. Undefined when the caller gave neither (the route decides whether that is allowed).
 */
export function expectedVersion(
  fromBody: number | undefined,
  ifMatchHeader: string | undefined,
  resource: string,
): number | undefined {
  const fromIfMatch = parseIfMatch(ifMatchHeader, resource);
  if (fromBody !== undefined && fromIfMatch !== undefined && fromBody !== fromIfMatch) {
    throw new ApiError('VERSION_CONFLICT', {
      message: 'The version in the body and in If-Match differ',
      details: [{ field: 'version', message: `is ${fromBody} in the body and ${fromIfMatch} in If-Match` }],
    });
  }
  return fromBody ?? fromIfMatch;
}
