import { fileURLToPath } from 'node:url';
import type { ServiceModule } from '@armature/platform/kit/index';
import { startPaymentsService } from './app.ts';
import { type PaymentsConfig, readPaymentsConfig } from './config.ts';
import { migrationsFolder } from './db/migrations.ts';

export {
  type PaymentsDependencies,
  type PaymentsService,
  paymentsService,
  startPaymentsService,
} from './app.ts';
export { type PaymentsConfig, readPaymentsConfig } from './config.ts';
export { type Simulator, startSimulator } from './simulator/simulator.ts';

/** How the launchers find this service (see `serviceCatalog` in the contract). */
export const service: ServiceModule<PaymentsConfig> = {
  name: 'payments',
  readConfig: readPaymentsConfig,
  start: (config) => startPaymentsService(config),
  migrationsFolder,
  main: fileURLToPath(new URL('./main.ts', import.meta.url)),
  sidecar: {
    name: 'payment-simulator',
    main: fileURLToPath(new URL('./simulator/main.ts', import.meta.url)),
    urlVariable: 'PAYMENTS_PROVIDER_URL',
    // Its webhooks go through the gateway, as a real provider's would.
    env: ({ port, gatewayUrl }) => ({
      SIMULATOR_PORT: String(port),
      SIMULATOR_WEBHOOK_URL: `${gatewayUrl}/v1/payments/webhooks`,
    }),
  },
};
