import { ConfigError, readInt, readString, readUrl } from '@armature/platform';
import { readServiceConfig, type ServiceConfig } from '@armature/platform/kit/index';

/** The development secret of webhook signatures; set `PAYMENTS_WEBHOOK_SECRET` in production. */
export const defaultWebhookSecret = 'armature-webhook-secret-change-me';

export interface PaymentsConfig extends ServiceConfig {
  provider: {
    /** `PAYMENTS_PROVIDER_URL`: the provider's API; unset → the simulator, in this process. */
    url?: string;
    /** `PAYMENTS_PROVIDER_TIMEOUT_MS`: a provider call taking longer is retried later, same key. */
    timeoutMs: number;
    /** `PAYMENTS_WEBHOOK_SECRET`: signs the provider's webhooks. */
    webhookSecret: string;
    /** `PAYMENTS_WEBHOOK_TOLERANCE_SECONDS`: how old a signed webhook may be. */
    webhookToleranceSeconds: number;
    /** For the in-process simulator: `SIMULATOR_CONFIRM_DELAY_MS`, `SIMULATOR_SLOW_MS`. */
    simulatorConfirmDelayMs: number;
    simulatorSlowMs: number;
  };
  /** `PAYMENTS_WORKER_INTERVAL_MS`: how often the worker looks for provider calls to make or retry. */
  workerIntervalMs: number;
}

export function readPaymentsConfig(env: Record<string, string | undefined> = process.env): PaymentsConfig {
  const webhookSecret = readString(env, 'PAYMENTS_WEBHOOK_SECRET', defaultWebhookSecret);
  if (webhookSecret.length < 16)
    throw new ConfigError('PAYMENTS_WEBHOOK_SECRET', 'must be at least 16 characters long');
  return {
    ...readServiceConfig('payments', env),
    provider: {
      url: readUrl(env, 'PAYMENTS_PROVIDER_URL', ['http:', 'https:']),
      timeoutMs: readInt(env, 'PAYMENTS_PROVIDER_TIMEOUT_MS', 2000, { min: 10, max: 60_000 }),
      webhookSecret,
      webhookToleranceSeconds: readInt(env, 'PAYMENTS_WEBHOOK_TOLERANCE_SECONDS', 300, {
        min: 1,
        max: 86_400,
      }),
      simulatorConfirmDelayMs: readInt(env, 'SIMULATOR_CONFIRM_DELAY_MS', 1000, { min: 0, max: 600_000 }),
      simulatorSlowMs: readInt(env, 'SIMULATOR_SLOW_MS', 5000, { min: 0, max: 600_000 }),
    },
    workerIntervalMs: readInt(env, 'PAYMENTS_WORKER_INTERVAL_MS', 1000, { min: 10, max: 600_000 }),
  };
}
