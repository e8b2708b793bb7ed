import { type SelectQueryBuilder, sql } from 'kysely';
import { type KeysetColumn, keysetAfter } from '../http/keyset.ts';
import type { SortKey } from '../http/list-query.ts';

/** What a list query asks of the database: an order, one page, by offset or after a keyset. */
export interface PageParams<K extends string> {
  sort: SortKey<K>[];
  limit: number;
  /** Offset pagination: rows to skip. */
  offset?: number;
  /** Keyset pagination: the sort values and id of the last row already seen. */
  after?: unknown[];
}

export interface Page<Row> {
  rows: Row[];
  /** Rows matching the filters, over every page. */
  total: number;
  hasMore: boolean;
}

/**
 * The ORDER BY of a list: the requested keys, then the id as the unique tie-breaker (in the last
 * key's direction, so a single-key sort is one index scan, forwards or backwards).
 */
export function orderColumns<K extends string>(
  sort: SortKey<K>[],
  columns: Record<K, string>,
  idColumn: string,
): KeysetColumn[] {
  const ordered = sort.map(({ key, direction }) => ({ column: columns[key], direction }));
  return [...ordered, { column: idColumn, direction: sort.at(-1)?.direction ?? 'asc' }];
}

/**
 * Runs one page of a filtered query and its total. `filtered` carries the filters only; the page
 * query adds the keyset condition, the order and limit + 1 (the extra row says whether more follow).
 * The total rides on the page as an uncorrelated subquery (PostgreSQL runs it once), so a page is one
 * round trip; only an empty page asks for the total on its own.
 */
export async function fetchPage<DB, TB extends keyof DB, Row>(
  filtered: SelectQueryBuilder<DB, TB, object>,
  select: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, Row>,
  order: KeysetColumn[],
  params: { limit: number; offset?: number; after?: unknown[] },
): Promise<Page<Row>> {
  const count = filtered.select(sql<number>`count(*)::int`.as('total'));
  let query = select(filtered).select(count.as('__total'));
  if (params.after) {
    const after = params.after;
    query = query.where((eb) => keysetAfter(eb, order, after));
  }
  for (const { column, direction } of order) query = query.orderBy(sql.ref(column), direction);
  query = query.limit(params.limit + 1);
  if (params.offset) query = query.offset(params.offset);
  const found = (await query.execute()) as Array<Row & { __total: number }>;
  const total =
    found.length > 0
      ? found[0]!.__total
      : ((await count.executeTakeFirstOrThrow()) as { total: number }).total;
  const rows = found.map(({ __total, ...row }) => row as Row);
  const hasMore = rows.length > params.limit;
  return { rows: hasMore ? rows.slice(0, params.limit) : rows, total, hasMore };
}
