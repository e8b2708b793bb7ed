import closeWithGrace from 'close-with-grace';
import { ConfigError } from './config.ts';

export interface Running {
  close(): Promise<void>;
  /** How long shutdown may take before the process is forced out. */
  shutdownTimeoutMs?: number;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/**
 * Starts a process and owns its life: a bad configuration stops it with one line naming the
 * variable; SIGTERM/SIGINT stop accepting, let in-flight requests finish, close every connection and
 * exit 0 (or 1 if that takes longer than `shutdownTimeoutMs`).
 */
export async function runMain(start: () => Promise<Running>): Promise<void> {
  let running: Running;
  try {
    running = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
    } else {
      process.stderr.write(
        `Failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
    }
    process.exit(1);
  }
  closeWithGrace({ delay: running.shutdownTimeoutMs ?? 10_000 }, async ({ signal, err }) => {
    if (err) running.log?.error({ err }, 'stopping after an unhandled error');
    else running.log?.info({ signal }, 'shutting down');
    await running.close();
  });
}
