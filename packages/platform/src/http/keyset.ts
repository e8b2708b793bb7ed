import { type Expression, type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { Direction } from './list-query.ts';

export interface KeysetColumn {
  /** A column reference, e.g. `orders.created_at`. */
  column: string;
  direction: Direction;
}

/**
 * The WHERE clause that continues a keyset page after `values` for an ORDER BY over `columns`
 * (the last column must be unique, e.g. the id). Mixed directions are expanded to
 * `a > va OR (a = va AND (b < vb OR (b = vb AND id > vid)))`, which PostgreSQL serves from an index.
 */
export function keysetAfter<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  columns: KeysetColumn[],
  values: unknown[],
): Expression<SqlBool> {
  const build = (index: number): Expression<SqlBool> => {
    const { column, direction } = columns[index]!;
    const ref = sql.ref(column);
    const value = values[index];
    const beyond = direction === 'asc' ? sql<SqlBool>`${ref} > ${value}` : sql<SqlBool>`${ref} < ${value}`;
    if (index === columns.length - 1) return beyond;
    return eb.or([beyond, eb.and([sql<SqlBool>`${ref} = ${value}`, build(index + 1)])]);
  };
  return build(0);
}
