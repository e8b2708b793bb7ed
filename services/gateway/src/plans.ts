import { readFileSync } from 'node:fs';
import type { TokenBucketRule } from '@armature/platform/rate-limit/index';

/** A plan: a rate (token bucket) and a quota of requests per calendar day or month (UTC). */
export interface Plan {
  name: string;
  rate?: TokenBucketRule;
  quota?: { limit: number; period: 'day' | 'month' };
}

export type Plans = ReadonlyMap<string, Plan>;

/** The plan of members signed in with a token, and of keys created without a plan. */
export const defaultPlanName = 'default';

/**
 * `PLANS`: inline JSON, or the path of a JSON file, naming each plan:
 * `{"default": {"rate": {"capacity": 100, "windowMs": 60000}, "quota": {"limit": 10000, "period": "month"}}}`.
 * Either part may be left out (no rate: the general limit applies; no quota: none).
 */
export function readPlans(value: string | undefined): Plans {
  if (value === undefined || value.trim() === '') return new Map();
  const text = value.trim().startsWith('{') ? value : readFileSync(value, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('PLANS must be a JSON object or the path of a file holding one');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error('PLANS must be a JSON object of plans by name');
  }
  const plans = new Map<string, Plan>();
  for (const [name, raw] of Object.entries(parsed as Record<string, unknown>)) {
    const plan = raw as {
      rate?: { capacity?: unknown; windowMs?: unknown };
      quota?: { limit?: unknown; period?: unknown };
    };
    const entry: Plan = { name };
    if (plan.rate !== undefined) {
      const { capacity, windowMs } = plan.rate;
      if (!positiveInteger(capacity) || !positiveInteger(windowMs)) {
        throw new Error(`PLANS: plan "${name}" needs a rate with positive integer capacity and windowMs`);
      }
      entry.rate = { capacity, windowMs };
    }
    if (plan.quota !== undefined) {
      const { limit, period } = plan.quota;
      if (!positiveInteger(limit) || (period !== 'day' && period !== 'month')) {
        throw new Error(
          `PLANS: plan "${name}" needs a quota with a positive integer limit and period day or month`,
        );
      }
      entry.quota = { limit, period };
    }
    plans.set(name, entry);
  }
  return plans;
}

function positiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** The calendar period (UTC) holding `now`: its name (`2026-12` or `2026-12-05`) and its end. */
export function periodOf(period: 'day' | 'month', now: number): { id: string; endsAt: number } {
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  if (period === 'month') {
    return { id: `${year}-${String(month + 1).padStart(2, '0')}`, endsAt: Date.UTC(year, month + 1, 1) };
  }
  const day = date.getUTCDate();
  return {
    id: `${year}-${String(month + 1).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
    endsAt: Date.UTC(year, month, day + 1),
  };
}
