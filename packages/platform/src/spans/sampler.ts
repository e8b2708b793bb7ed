import { ConfigError } from '../config.ts';

/** Which new traces the span store keeps. */
export interface Sampler {
  keep(): boolean;
}

/**
 * Keeps `ratio` of new traces, evenly (every tenth for 0.1), without drawing a random number per
 * request. `CONSOLE_TRACES_SAMPLE`, from 0 to 1; traces a caller continues or names are decided
 * elsewhere (see `tracing.ts`).
 */
export function samplerFor(env: Record<string, string | undefined>): Sampler {
  const raw = env.CONSOLE_TRACES_SAMPLE;
  const ratio = raw === undefined || raw.trim() === '' ? defaultRatio : Number(raw);
  if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw new ConfigError('CONSOLE_TRACES_SAMPLE', `must be a number from 0 to 1, got "${raw}"`);
  }
  if (ratio === 1) return { keep: () => true };
  let credit = 0;
  return {
    keep() {
      credit += ratio;
      // Tenths do not add up exactly in binary: ten of 0.1 make 0.9999999999999999.
      if (credit < 1 - 1e-9) return false;
      credit -= 1;
      return true;
    },
  };
}

export const defaultRatio = 0.1;
