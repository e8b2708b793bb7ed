import { sql } from 'kysely';
import { ApiError } from '../errors.ts';
import type { CursorCodec } from '../http/cursor.ts';
import { type Pagination, pageRequest } from '../http/list-query.ts';
import type { EventEnvelope } from './envelope.ts';
import { envelopeOf, eventTables, type WithEvents } from './outbox.ts';

export interface EventListRequest {
  type?: string;
  aggregateId?: string;
  page?: number;
  limit?: number;
  cursor?: string;
}

/**
 * `GET /events`: the service's recent events from its outbox, newest first, with both paginations
 * (keyset on the outbox sequence). Published rows are kept for the retention period, then pruned.
 */
export async function listEvents<E = EventEnvelope>(
  db: WithEvents,
  request: EventListRequest,
  cursors: CursorCodec,
): Promise<{ data: E[]; pagination: Pagination }> {
  const page = pageRequest(request);
  const scope = `events:${request.type ?? ''}:${request.aggregateId ?? ''}`;
  let filtered = eventTables(db).selectFrom('outbox');
  if (request.type !== undefined) filtered = filtered.where('type', '=', request.type);
  if (request.aggregateId !== undefined) filtered = filtered.where('aggregate_id', '=', request.aggregateId);

  let query = filtered
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(page.limit + 1);
  if (page.cursor !== undefined) {
    const [after] = cursors.decode(scope, page.cursor);
    if (typeof after !== 'number' || !Number.isSafeInteger(after)) {
      throw new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
    }
    query = query.where('seq', '<', after);
  } else if (page.page !== undefined && page.page > 1) {
    query = query.offset((page.page - 1) * page.limit);
  }
  const [rows, count] = await Promise.all([
    query.execute(),
    filtered.select(sql<number>`count(*)::int`.as('total')).executeTakeFirstOrThrow(),
  ]);
  const hasMore = rows.length > page.limit;
  const shown = hasMore ? rows.slice(0, page.limit) : rows;
  const last = shown.at(-1);
  return {
    // A service's outbox holds the event types it publishes; the caller names them (the contract's union).
    data: shown.map(envelopeOf) as E[],
    pagination: {
      total: count.total,
      page: page.page ?? null,
      limit: page.limit,
      hasMore,
      nextCursor: hasMore && last ? cursors.encode(scope, [last.seq]) : null,
    },
  };
}
