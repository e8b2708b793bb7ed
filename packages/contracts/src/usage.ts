import { type Static, Type } from '@sinclair/typebox';
import { PublicId } from './common.ts';
import { defineOperations } from './operation.ts';
import { UserIdOrMeParams } from './users.ts';

/** A calendar day (UTC), `2026-12-05`. */
export const UsageDate = Type.String({
  format: 'date',
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  maxLength: 10,
  examples: ['2026-12-05'],
});

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** Requests of a day, in all and by status class. */
export const RequestCounts = Type.Object(
  {
    total: Count,
    byStatusClass: Type.Object(
      {
        success: { ...Count, description: '2xx' },
        redirection: { ...Count, description: '3xx' },
        clientError: { ...Count, description: '4xx (refusals by the gateway included: 401, 403, 429)' },
        serverError: { ...Count, description: '5xx' },
      },
      { additionalProperties: false },
    ),
  },
  { title: 'RequestCounts', additionalProperties: false },
);
export type RequestCounts = Static<typeof RequestCounts>;

export const UsageDay = Type.Object(
  {
    date: UsageDate,
    /** Every request of the user's, with a token or with any of their keys. */
    requests: RequestCounts,
    /** The share of each API key that was used that day (keys unused that day are left out). */
    apiKeys: Type.Array(
      Type.Object({ keyId: PublicId('key'), requests: RequestCounts }, { additionalProperties: false }),
      { maxItems: 100 },
    ),
  },
  { title: 'UsageDay', additionalProperties: false },
);
export type UsageDay = Static<typeof UsageDay>;

export const Usage = Type.Object(
  {
    userId: PublicId('usr'),
    from: UsageDate,
    to: UsageDate,
    /** One entry per day from `from` to `to`, oldest first, days without requests included. */
    days: Type.Array(UsageDay, { maxItems: 92 }),
  },
  { $id: 'Usage', title: 'Usage', additionalProperties: false },
);
export type Usage = Static<typeof Usage>;

export const UsageQuery = Type.Object(
  {
    from: Type.Optional({ ...UsageDate, description: 'First day (UTC); by default 29 days before `to`' }),
    to: Type.Optional({ ...UsageDate, description: 'Last day (UTC); today by default' }),
  },
  { additionalProperties: false },
);
export type UsageQuery = Static<typeof UsageQuery>;

/** Days kept and the longest range one call may ask for. */
export const usageRetentionDays = 92;

export const usageOperations = defineOperations({
  getUsage: {
    operationId: 'getUsage',
    service: 'gateway',
    method: 'GET',
    path: '/users/{id}/usage',
    summary: 'Requests of a user per day, by status class and by API key (self or admin)',
    description:
      'Counted at the gateway: every request the user made with a token or one of their API keys, ' +
      `per calendar day (UTC), kept ${usageRetentionDays} days. \`from\`..\`to\` spans at most ` +
      `${usageRetentionDays} days. Counts of the last second may still be on their way from other ` +
      'gateways.',
    tags: ['API keys'],
    access: 'authenticated',
    params: UserIdOrMeParams,
    query: UsageQuery,
    responses: { 200: Usage },
    errors: [400, 401, 403, 503],
  },
});
