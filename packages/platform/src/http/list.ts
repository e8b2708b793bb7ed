import type { Page, PageParams } from '../db/page.ts';
import { ApiError } from '../errors.ts';
import type { CursorCodec } from './cursor.ts';
import {
  type Pagination,
  type Picked,
  pageRequest,
  parseFields,
  parseSort,
  pickFields,
  type SortKey,
} from './list-query.ts';

/** What a list declares: its name (cursors are bound to it), sort keys, default order and fields. */
export interface ListSpec<K extends string, Row> {
  name: string;
  sortKeys: readonly K[];
  defaultSort: SortKey<K>[];
  fields?: readonly string[];
  /** A row's value for a sort key, as it goes into a cursor (JSON: dates as ISO strings). */
  sortValue: (row: Row, key: K) => unknown;
  /** The row's unique id, the last value of every cursor. */
  idOf: (row: Row) => unknown;
}

export interface ListQueryInput {
  page?: number;
  limit?: number;
  cursor?: string;
  sort?: string;
  fields?: string;
}

export interface ListRequest<K extends string> {
  page: PageParams<K>;
  /** 1-based page number for offset pages; null for cursor pages. */
  pageNumber: number | null;
  fields?: Set<string>;
  /** Signs the cursor to this list and order: replayed on another one it is a 400. */
  scope: string;
}

/** Reads `page`/`cursor`, `limit`, `sort` and `fields` against a list's declaration. */
export function readListQuery<K extends string, Row>(
  query: ListQueryInput,
  spec: ListSpec<K, Row>,
  cursors: CursorCodec,
): ListRequest<K> {
  const sort = parseSort(query.sort, spec.sortKeys, spec.defaultSort);
  const scope = `${spec.name}:${sort.map(({ key, direction }) => `${direction === 'desc' ? '-' : '+'}${key}`).join(',')}`;
  const fields = spec.fields ? parseFields(query.fields, spec.fields) : undefined;
  const request = pageRequest(query);
  if (request.cursor !== undefined) {
    const after = cursors.decode(scope, request.cursor);
    if (after.length !== sort.length + 1) {
      throw new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
    }
    return { page: { sort, limit: request.limit, after }, pageNumber: null, fields, scope };
  }
  const pageNumber = request.page ?? 1;
  return {
    page: { sort, limit: request.limit, offset: (pageNumber - 1) * request.limit },
    pageNumber,
    fields,
    scope,
  };
}

/** `{data, pagination}` for a page: items rendered and trimmed to `fields`, the next cursor signed. */
export function listBody<K extends string, Row, Item extends object>(
  result: Page<Row>,
  request: ListRequest<K>,
  spec: ListSpec<K, Row>,
  cursors: CursorCodec,
  render: (row: Row) => Item,
): { data: Picked<Item>[]; pagination: Pagination } {
  const last = result.rows.at(-1);
  const nextCursor =
    result.hasMore && last !== undefined
      ? cursors.encode(request.scope, [
          ...request.page.sort.map(({ key }) => spec.sortValue(last, key)),
          spec.idOf(last),
        ])
      : null;
  return {
    data: result.rows.map((row) => pickFields(render(row), request.fields)),
    pagination: {
      total: result.total,
      page: request.pageNumber,
      limit: request.page.limit,
      hasMore: result.hasMore,
      nextCursor,
    },
  };
}
