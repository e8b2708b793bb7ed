import pino from 'pino';

let destination: NodeJS.WritableStream | undefined;

/** Longest time a log line waits in the buffer. */
const flushIntervalMs = 200;

/**
 * Where the gateway's log lines go: standard output, buffered. The gateway logs a line per request;
 * written one by one, that is a system call per request on the hot path. Buffered, lines go out in
 * blocks of 4 KiB, and at least every 200 ms; pino flushes what is left when the process exits. One
 * destination per process, however many gateways it runs.
 */
export function gatewayLogDestination(): NodeJS.WritableStream {
  if (!destination) {
    const stream = pino.destination({ dest: process.stdout.fd ?? 1, sync: false, minLength: 4096 });
    setInterval(() => {
      // Throws only while the file descriptor is still opening; the next tick will flush.
      try {
        stream.flush();
      } catch {}
    }, flushIntervalMs).unref();
    // SonicBoom is a writable stream in all but its declared type.
    destination = stream as unknown as NodeJS.WritableStream;
  }
  return destination;
}
