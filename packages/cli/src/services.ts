import { envPrefix, serviceNames } from '@armature/contracts/services';
import type { ServiceModule } from '@armature/platform/kit/index';

/**
 * Every service of the contract's catalog, in start order, loaded from its package
 * (`@armature/<name>` exports `service`). Adding a service to the catalog is all the launchers need.
 */
export async function loadServices(): Promise<ServiceModule[]> {
  return Promise.all(
    serviceNames.map(async (name) => {
      const module = (await import(`@armature/${name}`)) as { service?: ServiceModule };
      if (!module.service) throw new Error(`@armature/${name} does not export its \`service\``);
      return module.service;
    }),
  );
}

/** `ORDERS_PORT`, `ORDERS_DATABASE_URL`, `ORDERS_SERVICE_URLS`: a service's variables. */
export function serviceVariables(name: string) {
  const prefix = envPrefix(name);
  return {
    port: `${prefix}_PORT`,
    databaseUrl: `${prefix}_DATABASE_URL`,
    serviceUrls: `${prefix}_SERVICE_URLS`,
  };
}
