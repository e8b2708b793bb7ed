import { basename, join } from 'node:path';
import { envPrefix, serviceNames } from '@armature/contracts/services';
import { readCommonConfig } from '@armature/platform/config';
import { ensureClusters, openAhead, type TemplateFor } from '@armature/platform/db/pglite';

type Env = Record<string, string | undefined>;

/** A new service database starts as a copy of its service's migrated cluster, when one was made. */
function migratedTemplateFor(env: Env): TemplateFor {
  return async (folder) => {
    const [{ existingMigratedTemplate }, { migrationsFolderOf }] = await Promise.all([
      import('@armature/platform/db/pglite-migrated'),
      import('./services.ts'),
    ]);
    const service = basename(folder);
    return existingMigratedTemplate(service, await migrationsFolderOf(service), env);
  };
}

/**
 * `armature start`. On a new data folder each service's database is first copied from a cluster
 * made at install (its migrations already applied; see `ensureClusters`); then the embedded databases
 * open, all at once, on their own thread, while this one goes on loading the system's modules
 * (`openAhead`). Once serving, the control endpoint (`armature backup`) listens on loopback.
 */
export async function startEmbeddedProcess(env: Env = process.env): Promise<void> {
  let dataDir = '';
  let folders: string[] = [];
  try {
    dataDir = readCommonConfig(env).dataDir;
    // The services that keep their data in `DATA_DIR` (no PostgreSQL URL of their own).
    folders = serviceNames
      .filter((service) => !env[`${envPrefix(service)}_DATABASE_URL`])
      .map((service) => join(dataDir, service));
  } catch {
    // An invalid setting: the start below reports it, naming the variable.
  }
  // Then each database starts opening, while the modules still load; each service takes its own.
  const clusters = ensureClusters(folders, env, migratedTemplateFor(env)).then(() => openAhead(folders, env));
  // Awaited below; a failure here must not be an unhandled rejection while the imports run.
  clusters.catch(() => undefined);
  const [{ runMain }, { startEmbedded }, { startControlServer }] = await Promise.all([
    import('@armature/platform'),
    import('./embedded.ts'),
    import('./control.ts'),
  ]);
  await runMain(async () => {
    const { shutdownTimeoutMs } = readCommonConfig(env);
    await clusters;
    const system = await startEmbedded(env);
    const control = folders.length > 0 ? await startControlServer(dataDir) : undefined;
    system.gateway.app.log.info({ url: system.gateway.url }, 'Armature is serving');
    return {
      async close() {
        await control?.close();
        await system.close();
      },
      log: system.gateway.app.log,
      shutdownTimeoutMs,
    };
  });
}
