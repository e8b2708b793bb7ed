import { routeSchema } from '@armature/contracts/operation';
import { usageOperations, usageRetentionDays } from '@armature/contracts/usage';
import { ApiError, type OperationRequest, registerOperation } from '@armature/platform';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { GatewayMetrics } from './metrics.ts';
import { defaultPlanName, type Plans } from './plans.ts';
import { type ClassCounts, classIndex, type DayUsage, type UsageStore } from './usage-store.ts';

export interface UsageOptions {
  store: UsageStore;
  plans: Plans;
  metrics: GatewayMetrics;
  now: () => number;
}

const dayMs = 86_400_000;
const userIdPattern = /^usr_[0-7][0-9a-hjkmnp-tv-z]{25}$/;

/** `2026-12-05` for a time in that UTC day. */
export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

/**
 * Usage as its owner reads it: every API request is counted once its answer is sent, per user, day
 * (UTC), API key and status class, in `store` (in process, or Redis shared by the gateways); and in
 * `gateway_api_requests_total` by plan, kind of caller and status class (labels of bounded
 * cardinality: no user or key ids in metrics). `GET /v1/users/{id}/usage` answers from the store.
 */
export const usage = fp(
  async (app: FastifyInstance, options: UsageOptions) => {
    const { store, plans, metrics, now } = options;
    // The day's name is worked out once per day, not per request.
    let today = '';
    let todayEndsAt = 0;
    const currentDay = (time: number) => {
      if (time >= todayEndsAt || time < todayEndsAt - dayMs) {
        today = dayOf(time);
        todayEndsAt = Date.parse(`${today}T00:00:00Z`) + dayMs;
      }
      return today;
    };

    app.addHook('onResponse', (request, reply, done) => {
      if (request.api) {
        const index = classIndex(reply.statusCode);
        const principal = request.principal;
        if (principal) store.record(principal.userId, request.apiKey?.keyId ?? '', currentDay(now()), index);
        metrics.countApiRequest(callerOf(request), planOf(request, plans), index);
      }
      done();
    });
    app.addHook('onClose', () => store.close());

    const operation = usageOperations.getUsage;
    const handler = async (request: OperationRequest<typeof operation>) => {
      const principal = request.principal!;
      const { id } = request.params;
      const query = request.query;
      const userId = id === 'me' ? principal.userId : id;
      if (userId !== principal.userId) {
        if (!principal.isAdmin) throw new ApiError('FORBIDDEN');
        if (!userIdPattern.test(userId)) throw new ApiError('NOT_FOUND', { message: `No user ${id}` });
      }
      const days = dayRange(query.from, query.to, now());
      let known: Map<string, DayUsage>;
      try {
        known = await store.read(userId, days);
      } catch (error) {
        request.log.warn({ err: error }, 'usage store unreachable');
        throw new ApiError('SERVICE_UNAVAILABLE', { headers: { 'retry-after': '1' } });
      }
      return {
        userId,
        from: days[0]!,
        to: days.at(-1)!,
        days: days.map((day) => usageDay(day, known.get(day))),
      };
    };
    // The version may also come as `?version=`: it is the gateway's to read, not a query parameter.
    const preValidation = async (request: FastifyRequest) => {
      delete (request.query as Record<string, unknown>).version;
    };
    registerOperation(app, operation, handler, { config: { api: true }, preValidation });
    // Without a version in the path (`Accept` or `?version=` name it), as the forwarded routes are.
    app.get(
      operation.path.replace(/\{(\w+)\}/g, ':$1'),
      { config: { api: true, access: operation.access }, schema: routeSchema(operation, 1), preValidation },
      (request) => handler(request as OperationRequest<typeof operation>),
    );
  },
  { name: 'gateway-usage', dependencies: ['gateway-edge-auth'] },
);

function callerOf(request: FastifyRequest): 'api_key' | 'token' | 'anonymous' {
  if (!request.principal) return 'anonymous';
  return request.apiKey ? 'api_key' : 'token';
}

/** A configured plan's name, else `other` (plan labels stay as few as the configured plans). */
function planOf(request: FastifyRequest, plans: Plans): string {
  if (!request.principal) return 'none';
  const name = request.apiKey?.plan || defaultPlanName;
  return plans.has(name) || name === defaultPlanName ? name : 'other';
}

/** The days `from`..`to` (today and the 29 days before by default), at most the retention. */
export function dayRange(from: string | undefined, to: string | undefined, now: number): string[] {
  const last = to === undefined ? Date.parse(`${dayOf(now)}T00:00:00Z`) : Date.parse(`${to}T00:00:00Z`);
  const first = from === undefined ? last - 29 * dayMs : Date.parse(`${from}T00:00:00Z`);
  const details = [];
  if (first > last) details.push({ field: 'from', message: 'must not be after `to`' });
  else if ((last - first) / dayMs + 1 > usageRetentionDays)
    details.push({ field: 'from', message: `the range spans at most ${usageRetentionDays} days` });
  if (details.length > 0) throw new ApiError('VALIDATION_ERROR', { details });
  const days: string[] = [];
  for (let day = first; day <= last; day += dayMs) days.push(dayOf(day));
  return days;
}

function counts(values: ClassCounts) {
  const [ok, redirect, client, server] = values;
  return {
    total: ok + redirect + client + server,
    byStatusClass: { success: ok, redirection: redirect, clientError: client, serverError: server },
  };
}

function usageDay(date: string, usage: DayUsage | undefined) {
  const all: ClassCounts = [0, 0, 0, 0];
  const apiKeys: Array<{ keyId: string; requests: ReturnType<typeof counts> }> = [];
  for (const [keyId, values] of usage ?? []) {
    values.forEach((value, index) => {
      all[index] += value;
    });
    if (keyId) apiKeys.push({ keyId, requests: counts(values) });
  }
  apiKeys.sort((a, b) => b.requests.total - a.requests.total || a.keyId.localeCompare(b.keyId));
  return { date, requests: counts(all), apiKeys: apiKeys.slice(0, 100) };
}
