import { ApiError } from '../errors.ts';

export type Direction = 'asc' | 'desc';
export interface SortKey<K extends string = string> {
  key: K;
  direction: Direction;
}

function badParameter(field: string, message: string): ApiError {
  return new ApiError('VALIDATION_ERROR', { details: [{ field, message }] });
}

/**
 * `sort=-createdAt,+total` → [{createdAt desc}, {total asc}]. A literal `+` in a query string arrives
 * as a space, so a leading space means ascending too. Unknown or repeated keys are a 400 naming `sort`.
 */
export function parseSort<K extends string>(
  raw: string | undefined,
  allowed: readonly K[],
  fallback: SortKey<K>[],
) {
  if (raw === undefined || raw === '') return fallback;
  const seen = new Set<string>();
  return raw.split(',').map((part): SortKey<K> => {
    const direction: Direction = part.startsWith('-') ? 'desc' : 'asc';
    const key = part.replace(/^[-+ ]/, '').trim();
    if (!allowed.includes(key as K)) {
      throw badParameter('sort', `cannot sort by "${key}"; allowed: ${allowed.join(', ')}`);
    }
    if (seen.has(key)) throw badParameter('sort', `"${key}" appears twice`);
    seen.add(key);
    return { key: key as K, direction };
  });
}

/** `fields=id,name` → the set to keep; unknown names are a 400 naming `fields`. `id` is always kept. */
export function parseFields(raw: string | undefined, allowed: readonly string[]): Set<string> | undefined {
  if (raw === undefined || raw === '') return undefined;
  const fields = new Set(raw.split(','));
  for (const field of fields) {
    if (!allowed.includes(field))
      throw badParameter('fields', `unknown field "${field}"; allowed: ${allowed.join(', ')}`);
  }
  fields.add('id');
  return fields;
}

/** A list item after `fields=`: its `id` always, any other field maybe; a list without `id`s keeps every field. */
export type Picked<T> = 'id' extends keyof T ? Pick<T, 'id'> & Partial<T> : T;

export function pickFields<T extends object>(item: T, fields: Set<string> | undefined): Picked<T> {
  if (!fields) return item as Picked<T>;
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) if (fields.has(key)) picked[key] = value;
  return picked as Picked<T>;
}

export interface PageRequest {
  limit: number;
  /** Offset pagination (1-based) — set when `page` is given or no cursor is. */
  page?: number;
  cursor?: string;
}

/** Offset or keyset: `page` and `cursor` together are a 400. */
export function pageRequest(query: { page?: number; limit?: number; cursor?: string }): PageRequest {
  if (query.page !== undefined && query.cursor !== undefined) {
    throw badParameter('cursor', 'use either page or cursor, not both');
  }
  const limit = query.limit ?? 20;
  return query.cursor !== undefined ? { limit, cursor: query.cursor } : { limit, page: query.page ?? 1 };
}

export interface Pagination {
  total: number;
  page: number | null;
  limit: number;
  hasMore: boolean;
  nextCursor: string | null;
}

/** Parses `createdAfter`-style filters already validated as date or date-time strings. */
export function parseInstant(field: string, raw: string | undefined): Date | undefined {
  if (raw === undefined) return undefined;
  const date = new Date(raw);
  if (Number.isNaN(date.getTime())) throw badParameter(field, 'must be a date (2024-01-15) or date-time');
  return date;
}
