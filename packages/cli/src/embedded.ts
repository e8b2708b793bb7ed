import type { ServiceName } from '@armature/contracts/services';
import { readGatewayConfig, startGateway } from '@armature/gateway';
import type { StartedService } from '@armature/platform';
import { loadServices, serviceVariables } from './services.ts';

export interface EmbeddedSystem {
  gateway: StartedService;
  /** Each service of the catalog, by name. */
  services: Record<ServiceName, StartedService>;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/**
 * The whole system in one process: each service on its own loopback port (free ports unless its
 * `<SERVICE>_PORT` is set), started in the catalog's order, the gateway in front. The services talk
 * over real HTTP exactly as they do when scaled out; only the adapters behind them (PGlite,
 * in-process cache and bus) differ.
 */
export async function startEmbedded(env: Env = process.env): Promise<EmbeddedSystem> {
  const modules = await loadServices();
  const internal: Env = { ...env };
  for (const module of modules) {
    const { port } = serviceVariables(module.name);
    internal[port] = env[port] ?? '0';
  }
  // Read every configuration first, so a bad value stops the start before anything listens.
  const placeholders: Env = {};
  for (const module of modules)
    placeholders[serviceVariables(module.name).serviceUrls] = 'http://127.0.0.1:1';
  for (const module of modules) module.readConfig({ ...placeholders, ...internal });
  readGatewayConfig({ ...placeholders, ...internal });

  const started: StartedService[] = [];
  const services: Record<string, StartedService> = {};
  try {
    for (const module of modules) {
      const service = await module.start(module.readConfig(internal));
      started.push(service);
      services[module.name] = service;
      // The services after it, and the gateway, reach it here.
      const { serviceUrls } = serviceVariables(module.name);
      internal[serviceUrls] = env[serviceUrls] ?? service.url;
    }
    const gateway = await startGateway(readGatewayConfig(internal));
    return {
      gateway,
      services: services as Record<ServiceName, StartedService>,
      async close() {
        await gateway.close();
        await Promise.all(started.map((service) => service.close()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((service) => service.close()));
    throw error;
  }
}
