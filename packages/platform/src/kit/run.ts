import { runMain } from '../main.ts';
import type { ServiceModule } from './start-service.ts';

/** A service's `main.ts`: reads its configuration, starts it, and owns the process until a signal stops it. */
export function runService(module: ServiceModule): Promise<void> {
  return runMain(async () => {
    const config = module.readConfig();
    const service = await module.start(config);
    service.app.log.info({ url: service.url }, `${module.name} service listening`);
    return { close: service.close, log: service.app.log, shutdownTimeoutMs: config.shutdownTimeoutMs };
  });
}
