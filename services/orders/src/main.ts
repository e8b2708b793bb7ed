import { runMain } from '@armature/platform';
import { startOrdersService } from './app.ts';
import { readOrdersConfig } from './config.ts';

await runMain(async () => {
  const config = readOrdersConfig();
  const service = await startOrdersService(config);
  service.app.log.info({ url: service.url }, 'orders service listening');
  return { close: service.close, log: service.app.log, shutdownTimeoutMs: config.shutdownTimeoutMs };
});
