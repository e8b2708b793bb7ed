import { type DeadLetter, deadLettersOperations as ops } from '@armature/contracts';
import type { FastifyInstance } from 'fastify';
import { principalOf } from '../auth/plugin.ts';
import { ApiError } from '../errors.ts';
import { type DeadLetterAdmin, DeadLetterNotFound, ReplayFailed } from '../events/dead-letter-admin.ts';
import { deadLetterId, type StoredDeadLetter } from '../events/dead-letters.ts';
import type { CursorCodec } from '../http/cursor.ts';
import { pageRequest } from '../http/list-query.ts';
import { registerOperation } from '../http/operation.ts';
import { isoTimestamp } from '../http/timestamps.ts';

/**
 * The dead-letter operations of one service (admin only): list, inspect, replay, discard. The
 * gateway sends `/services/{service}/dead-letters…` to the service named in the path; a service
 * answers only for itself.
 */
export function registerDeadLetterRoutes(
  app: FastifyInstance,
  options: { service: string; deadLetters: DeadLetterAdmin; cursors: CursorCodec },
): void {
  const { service, deadLetters, cursors } = options;
  const view = (deadLetter: StoredDeadLetter): DeadLetter => ({
    id: deadLetter.event!.id,
    service,
    consumer: deadLetter.consumer,
    event: deadLetter.event as DeadLetter['event'],
    attempts: deadLetter.attempts,
    lastError: deadLetter.error.slice(0, 1000),
    deadLetteredAt: isoTimestamp(deadLetter.at),
  });
  const ownService = (name: string) => {
    if (name !== service) throw new ApiError('NOT_FOUND');
  };
  const notFound = (error: unknown): never => {
    if (error instanceof DeadLetterNotFound) throw new ApiError('NOT_FOUND');
    throw error;
  };

  registerOperation(app, ops.listDeadLetters, async (request) => {
    ownService(request.params.service);
    const { consumer, type } = request.query;
    const page = pageRequest(request.query);
    const scope = `dead-letters:${consumer ?? ''}:${type ?? ''}`;
    // A message that could not be read as an event stays in the stream and the log, not here.
    let all = (await deadLetters.list()).filter(
      (deadLetter) =>
        deadLetter.event !== undefined &&
        (consumer === undefined || deadLetter.consumer === consumer) &&
        (type === undefined || deadLetter.event?.type === type),
    );
    const total = all.length;
    if (page.cursor !== undefined) {
      const [at, id] = cursors.decode(scope, page.cursor);
      if (typeof at !== 'number' || typeof id !== 'string') {
        throw new ApiError('INVALID_CURSOR', { details: [{ field: 'cursor', message: 'is invalid' }] });
      }
      // Newest first, then by id: what comes after the last one shown.
      all = all.filter(
        (deadLetter) =>
          deadLetter.at.getTime() < at || (deadLetter.at.getTime() === at && deadLetter.id > id),
      );
    } else if (page.page !== undefined && page.page > 1) {
      all = all.slice((page.page - 1) * page.limit);
    }
    const shown = all.slice(0, page.limit);
    const hasMore = all.length > page.limit;
    const last = shown.at(-1);
    return {
      data: shown.map(view),
      pagination: {
        total,
        page: page.page ?? null,
        limit: page.limit,
        hasMore,
        nextCursor: hasMore && last ? cursors.encode(scope, [last.at.getTime(), last.id]) : null,
      },
    };
  });

  registerOperation(app, ops.getDeadLetter, async (request) => {
    ownService(request.params.service);
    return view(
      await deadLetters.get(deadLetterId(request.params.consumer, request.params.id)).catch(notFound),
    );
  });

  registerOperation(app, ops.discardDeadLetter, async (request, reply) => {
    ownService(request.params.service);
    await deadLetters
      .discard(deadLetterId(request.params.consumer, request.params.id), principalOf(request).userId)
      .catch(notFound);
    return reply.code(204).send();
  });

  registerOperation(app, ops.replayDeadLetter, async (request) => {
    ownService(request.params.service);
    try {
      const result = await deadLetters.replay(
        deadLetterId(request.params.consumer, request.params.id),
        principalOf(request).userId,
      );
      return {
        consumer: result.deadLetter.consumer,
        eventId: request.params.id,
        outcome: result.outcome,
        replayedAt: isoTimestamp(result.at),
      };
    } catch (error) {
      if (error instanceof ReplayFailed) {
        throw new ApiError('REPLAY_FAILED', {
          message: `The consumer failed again: ${error.message}`.slice(0, 1000),
        });
      }
      return notFound(error);
    }
  });
}
