import type { ServiceName } from '@armature/contracts/services';
import { readGatewayConfig, startGateway } from '@armature/gateway';
import type { StartedService } from '@armature/platform';
import { readEnum } from '@armature/platform/config';
import type { ServiceConfig } from '@armature/platform/kit/index';
import { loadServices, serviceVariables } from './services.ts';

export interface EmbeddedSystem {
  gateway: StartedService;
  /** Each service of the catalog, by name (kept current across `stop` and `start`). */
  services: Record<ServiceName, StartedService>;
  /** Stops one service, the others running on (fault tests: a service down). */
  stop(name: ServiceName): Promise<void>;
  /** Starts a stopped service again, on its port and data. */
  start(name: ServiceName): Promise<void>;
  close(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/** `EMBEDDED_TRANSPORT`: how the gateway reaches the services of its own process. */
export const embeddedTransports = ['in-process', 'http'] as const;
export type EmbeddedTransport = (typeof embeddedTransports)[number];

export function readEmbeddedTransport(env: Env = process.env): EmbeddedTransport {
  return readEnum(env, 'EMBEDDED_TRANSPORT', embeddedTransports, 'in-process');
}

/**
 * The whole system in one process: each service on its own loopback port (free ports unless its
 * `<SERVICE>_PORT` is set), started in the catalog's order, the gateway in front. The gateway hands
 * each request to the service's app in process (`EMBEDDED_TRANSPORT=in-process`, the default: no
 * socket, no HTTP written and parsed twice) or over its port (`http`, as scaled out); routing,
 * auth, limits, headers and errors are the same either way. The services still listen on their
 * ports and call each other over HTTP; only the adapters behind them (PGlite, in-process cache and
 * bus) differ from a scaled-out deployment.
 */
export async function startEmbedded(env: Env = process.env): Promise<EmbeddedSystem> {
  const transport = readEmbeddedTransport(env);
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

  const services: Record<string, StartedService> = {};
  const configs = new Map<string, ServiceConfig>();
  const stopped = new Set<string>();
  // The services the gateway reaches in process, by the URL it is given for them.
  const local = new Map<string, () => StartedService['app'] | undefined>();
  const running = () => Object.entries(services).filter(([name]) => !stopped.has(name));
  try {
    for (const module of modules) {
      const config = module.readConfig(internal);
      const service = await module.start(config);
      services[module.name] = service;
      // A restart comes back on the same port: the gateway and the other services know it there.
      configs.set(module.name, { ...config, port: Number(new URL(service.url).port) });
      // The services after it, and the gateway, reach it here.
      const { serviceUrls } = serviceVariables(module.name);
      internal[serviceUrls] = env[serviceUrls] ?? service.url;
      const name = module.name;
      // While stopped, the service is not there: the gateway's call is refused, as by a closed port.
      if (transport === 'in-process' && !env[serviceUrls])
        local.set(service.url, () => (stopped.has(name) ? undefined : services[name]!.app));
    }
    const gateway = await startGateway(readGatewayConfig(internal), { local });
    return {
      gateway,
      services: services as Record<ServiceName, StartedService>,
      async stop(name) {
        if (stopped.has(name)) return;
        stopped.add(name);
        await services[name]!.close();
      },
      async start(name) {
        if (!stopped.has(name)) return;
        const module = modules.find((candidate) => candidate.name === name)!;
        services[name] = await module.start(configs.get(name)!);
        stopped.delete(name);
      },
      async close() {
        await gateway.close();
        await Promise.all(running().map(([, service]) => service.close()));
      },
    };
  } catch (error) {
    await Promise.all(running().map(([, service]) => service.close()));
    throw error;
  }
}
