import { runMain } from '@armature/platform';
import { startUsersService } from './app.ts';
import { readUsersConfig } from './config.ts';

await runMain(async () => {
  const config = readUsersConfig();
  const service = await startUsersService(config);
  service.app.log.info({ url: service.url }, 'users service listening');
  return { close: service.close, log: service.app.log, shutdownTimeoutMs: config.shutdownTimeoutMs };
});
