import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface RunningProcess {
  url: string;
  child: ChildProcess;
  /** Output so far, for failure messages. */
  output(): string;
  /** Sends the signal and waits for the process to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts a TypeScript entry point with this Node and waits for the line that carries its URL: a JSON
 * line with `url` (pino's "listening" line or a test upstream's announcement).
 */
export function startProcess(
  entry: string,
  env: Record<string, string>,
  timeoutMs = 50_000,
): Promise<RunningProcess> {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${entry} did not announce its URL in time:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      for (const line of output.split('\n')) {
        if (!line.startsWith('{')) continue;
        let parsed: { url?: string; msg?: string };
        try {
          parsed = JSON.parse(line);
        } catch {
          continue;
        }
        if (
          typeof parsed.url === 'string' &&
          (parsed.msg === undefined || parsed.msg.includes('listening'))
        ) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          // Keep draining the pipes so the child never blocks on a full one.
          child.stdout?.on('data', (more: Buffer) => {
            output += more.toString();
          });
          resolve({
            url: parsed.url,
            child,
            output: () => output,
            async stop(signal = 'SIGTERM') {
              if (child.exitCode === null && child.signalCode === null) child.kill(signal);
              await exited;
            },
          });
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code} before announcing its URL:\n${output}`));
    });
  });
}

export const gatewayMain = fileURLToPath(new URL('../main.ts', import.meta.url));
export const upstreamMain = fileURLToPath(new URL('./upstream-main.ts', import.meta.url));
