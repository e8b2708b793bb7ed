import { type TObject, type TSchema, Type } from '@sinclair/typebox';

/** ISO 8601 UTC timestamp, e.g. `2024-01-15T10:30:00Z`. */
export const Timestamp = Type.String({
  format: 'date-time',
  maxLength: 40,
  examples: ['2024-01-15T10:30:00Z'],
});

/** A prefixed public id (TypeID): `usr_01h455vb4pex5vsknk084sn02q`. */
export const PublicId = (prefix: string) =>
  Type.String({
    pattern: `^${prefix}_[0-7][0-9a-hjkmnp-tv-z]{25}$`,
    maxLength: prefix.length + 27,
    examples: [`${prefix}_01h455vb4pex5vsknk084sn02q`],
  });

export const ErrorDetail = Type.Object(
  { field: Type.String({ maxLength: 200 }), message: Type.String({ maxLength: 500 }) },
  { additionalProperties: false },
);

/** The one error envelope every 4xx and 5xx uses. */
export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ pattern: '^[A-Z][A-Z0-9_]*$', maxLength: 64, examples: ['VALIDATION_ERROR'] }),
        message: Type.String({ maxLength: 1000 }),
        details: Type.Optional(Type.Array(ErrorDetail, { maxItems: 100 })),
      },
      { additionalProperties: false },
    ),
    requestId: Type.String({ maxLength: 128 }),
  },
  { $id: 'ErrorEnvelope', additionalProperties: false, title: 'ErrorEnvelope' },
);

export const Pagination = Type.Object(
  {
    total: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    page: Type.Union([Type.Integer({ minimum: 1, maximum: 1_000_000 }), Type.Null()]),
    limit: Type.Integer({ minimum: 1, maximum: 100 }),
    hasMore: Type.Boolean(),
    nextCursor: Type.Union([Type.String({ maxLength: 1024 }), Type.Null()]),
  },
  { additionalProperties: false },
);

/** `{data: [...], pagination: {...}}`, the envelope of every list. */
export const ListOf = <T extends TSchema>(item: T) =>
  Type.Object(
    { data: Type.Array(item, { maxItems: 100 }), pagination: Pagination },
    { additionalProperties: false },
  );

/** Query parameters every list accepts, on top of its own filters. */
export const listQueryProperties = {
  page: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Offset pagination: page number' }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 100, default: 20, description: 'Items per page (max 100)' }),
  ),
  cursor: Type.Optional(
    Type.String({
      maxLength: 1024,
      pattern: '^[A-Za-z0-9_-]+$',
      description: 'Keyset pagination: opaque cursor',
    }),
  ),
  sort: Type.Optional(
    Type.String({
      maxLength: 200,
      pattern: '^[ +-]?[A-Za-z]+(,[ +-]?[A-Za-z]+)*$',
      description: 'Comma-separated keys, `-` for descending, `+` (or nothing) for ascending',
    }),
  ),
  fields: Type.Optional(
    Type.String({
      maxLength: 500,
      pattern: '^[A-Za-z]+(,[A-Za-z]+)*$',
      description: 'Comma-separated fields to return',
    }),
  ),
};

export const ListQuery = <P extends Record<string, TSchema>>(filters: P) =>
  Type.Object({ ...listQueryProperties, ...filters }, { additionalProperties: false });

export const IdParams = (prefix: string) =>
  Type.Object(
    { id: Type.String({ maxLength: 64, description: `A \`${prefix}_…\` id` }) },
    { additionalProperties: false },
  );

export type AnyObject = TObject;

/**
 * Control characters, and the bidirectional embeddings, overrides and isolates (U+202A–U+202E,
 * U+2066–U+2069): they make a name display as something else ("evil\u202Egnp.exe" shows as
 * "evilexe.png"). Right-to-left scripts need none of them; combining marks stay allowed.
 */
const forbiddenInNames = '\\u0000-\\u001f\\u007f\\u202a-\\u202e\\u2066-\\u2069';
/** A display name: at least one visible character, none of `forbiddenInNames`. */
export const displayNamePattern = `^[^${forbiddenInNames}]*[^\\s${forbiddenInNames}][^${forbiddenInNames}]*$`;
