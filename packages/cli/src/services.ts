import { serviceNames } from '@armature/contracts/services';
import type { ServiceModule } from '@armature/platform/kit/index';

export { serviceVariables } from '@armature/platform/kit/index';

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
