/**
 * The provider simulator as its own process (scale-out: a real HTTP hop between the payments
 * instances and "the provider", whose state they share). `SIMULATOR_PORT`, `SIMULATOR_WEBHOOK_URL`
 * (the gateway's `/v1/payments/webhooks`), `PAYMENTS_WEBHOOK_SECRET`, `SIMULATOR_CONFIRM_DELAY_MS`.
 */
import { readInt, readString, runMain } from '@armature/platform';
import { defaultWebhookSecret } from '../config.ts';
import { startSimulator } from './simulator.ts';

await runMain(async () => {
  const env = process.env;
  const simulator = await startSimulator(
    {
      webhookSecret: readString(env, 'PAYMENTS_WEBHOOK_SECRET', defaultWebhookSecret),
      webhookUrl: readString(env, 'SIMULATOR_WEBHOOK_URL', 'http://127.0.0.1:8080/v1/payments/webhooks'),
      confirmDelayMs: readInt(env, 'SIMULATOR_CONFIRM_DELAY_MS', 1000, { min: 0, max: 600_000 }),
      slowMs: readInt(env, 'SIMULATOR_SLOW_MS', 5000, { min: 0, max: 600_000 }),
    },
    {
      host: readString(env, 'SIMULATOR_HOST', '127.0.0.1'),
      port: readInt(env, 'SIMULATOR_PORT', 8090, { min: 0, max: 65535 }),
    },
  );
  process.stdout.write(`payment provider simulator listening on ${simulator.url}\n`);
  return { close: simulator.close };
});
