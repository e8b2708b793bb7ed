import pino from 'pino';

let destination: NodeJS.WritableStream | undefined;

/**
 * Where the gateway's log lines go: standard output, written asynchronously. The gateway logs a line
 * per request; with a synchronous write that is one system call per request on the hot path. Written
 * asynchronously, lines that arrive while a write is under way go out together in the next one, and
 * pino flushes what is left when the process exits. One destination per process, however many
 * gateways it runs.
 */
export function gatewayLogDestination(): NodeJS.WritableStream {
  // SonicBoom is a writable stream in all but its declared type.
  destination ??= pino.destination({
    dest: process.stdout.fd ?? 1,
    sync: false,
  }) as unknown as NodeJS.WritableStream;
  return destination;
}
