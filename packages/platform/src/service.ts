import type { App } from './server.ts';

export interface ListenOptions {
  host: string;
  /** 0 picks a free port (tests, embedded mode). */
  port: number;
}

export interface StartedService {
  app: App;
  /** Base URL the service answers on, e.g. `http://127.0.0.1:8081`. */
  url: string;
  close(): Promise<void>;
}

/** Listens and returns the URL; `close` stops accepting, drains in-flight requests, runs onClose hooks. */
export async function listen(app: App, options: ListenOptions): Promise<StartedService> {
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return { app, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close: () => app.close() };
}
