import { runMain } from '@armature/platform';
import { startGateway } from './app.ts';
import { readGatewayConfig } from './config.ts';

await runMain(async () => {
  const config = readGatewayConfig();
  const gateway = await startGateway(config);
  gateway.app.log.info({ url: gateway.url }, 'gateway listening');
  return { close: gateway.close, log: gateway.app.log, shutdownTimeoutMs: config.shutdownTimeoutMs };
});
