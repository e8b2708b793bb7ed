import type { TokenVerifier } from '@armature/platform';
import { defineService, type RunningService, startService } from '@armature/platform/kit/index';
import type { PaymentsConfig } from './config.ts';
import { migrationsFolder } from './db/migrations.ts';
import type { PaymentsDatabase } from './db/schema.ts';
import { ordersEventsConsumer } from './events/handled/orders.ts';
import { registerPaymentRoutes } from './http/payments.ts';
import { registerWebhookRoute } from './http/webhook.ts';
import type { PaymentProvider } from './provider/port.ts';
import { SimulatorProvider } from './provider/simulator-provider.ts';
import { type Simulator, startSimulator } from './simulator/simulator.ts';
import { PaymentWorker } from './worker/payment-worker.ts';

export interface PaymentsContext {
  provider: PaymentProvider;
  worker: PaymentWorker;
  /** The in-process provider simulator, when no `PAYMENTS_PROVIDER_URL` is set. */
  simulator?: Simulator;
  /** Where the in-process simulator sends its webhooks: this service, once it listens. */
  webhookUrl?: string;
}

export interface PaymentsDependencies {
  /** Verifies access tokens; by default against the users service's JWKS. */
  verifier?: TokenVerifier;
  /** Wraps the provider (tests: a crash between its answer and our commit). */
  wrapProvider?: (provider: PaymentProvider) => PaymentProvider;
}

/** The payments service: payments of orders, driven by the orders service's events, settled with the provider. */
export function paymentsService(dependencies: PaymentsDependencies = {}) {
  return defineService<PaymentsDatabase, PaymentsConfig, PaymentsContext>({
    name: 'payments',
    migrationsFolder,
    async context({ app, db, config, log }) {
      const context: Partial<PaymentsContext> = {};
      let url = config.provider.url;
      if (!url) {
        context.simulator = await startSimulator({
          webhookSecret: config.provider.webhookSecret,
          webhookUrl: () => context.webhookUrl,
          confirmDelayMs: config.provider.simulatorConfirmDelayMs,
          slowMs: config.provider.simulatorSlowMs,
        });
        url = context.simulator.url;
      }
      const provider = new SimulatorProvider({ url, timeoutMs: config.provider.timeoutMs });
      context.provider = dependencies.wrapProvider?.(provider) ?? provider;
      context.worker = new PaymentWorker({
        db,
        provider: context.provider,
        log: log.child({ component: 'payment-worker' }),
        intervalMs: config.workerIntervalMs,
      });
      // Closed after the routes and consumers stop, before the database closes.
      const simulator = context.simulator;
      const worker = context.worker;
      app.addHook('onClose', async () => {
        await worker.close();
        await simulator?.close();
      });
      return context as PaymentsContext;
    },
    routes: (kit, context) => {
      registerPaymentRoutes(kit);
      registerWebhookRoute(kit, {
        secret: kit.config.provider.webhookSecret,
        toleranceSeconds: kit.config.provider.webhookToleranceSeconds,
        onOutcome: () => context.worker.wake(),
      });
      const url = kit.config.provider.url;
      // The provider is not critical: payments wait in the database until it answers again.
      if (url) {
        kit.app.health.add(
          'payment-provider',
          async () => {
            const response = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(1000) });
            if (!response.ok) throw new Error(`answered ${response.status}`);
          },
          { critical: false },
        );
      }
    },
    consumers: (_kit, context) => [ordersEventsConsumer(() => context.worker.wake())],
    ready: (_kit, context, events) => context.worker.start(events.wake),
  });
}

export type PaymentsService = RunningService<PaymentsDatabase, PaymentsConfig, PaymentsContext>;

export async function startPaymentsService(
  config: PaymentsConfig,
  dependencies: PaymentsDependencies = {},
): Promise<PaymentsService> {
  const service = await startService(paymentsService(dependencies), config, dependencies);
  service.context.webhookUrl = `${service.url}/v1/payments/webhooks`;
  return service;
}
