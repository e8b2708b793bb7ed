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

/**
 * The folder of a service's migrations (`@armature/<name>/db/migrations`, as every service lays it
 * out), without loading the rest of the service.
 */
export async function migrationsFolderOf(name: string): Promise<string> {
  const module = (await import(`@armature/${name}/db/migrations`)) as { migrationsFolder?: string };
  if (!module.migrationsFolder)
    throw new Error(`@armature/${name}/db/migrations does not export \`migrationsFolder\``);
  return module.migrationsFolder;
}
