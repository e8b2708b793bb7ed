import { serviceNames } from '@armature/contracts/services';
import type { StartedService } from '@armature/platform';
import { serviceVariables } from '@armature/platform/kit/config';
import { startGateway } from '../app.ts';
import { readGatewayConfig } from '../config.ts';

/**
 * A gateway on a free loopback port in this process, in front of the given upstream URLs; a service
 * of the catalog not given is sent to the first one given (suites about the gateway's mechanics call
 * a few services; the others must still look healthy).
 */
export function startTestGateway(
  upstreams: Partial<Record<string, string[]>>,
  env: Record<string, string> = {},
): Promise<StartedService> {
  return startGateway(readGatewayConfig({ ...upstreamVariables(upstreams), ...env }));
}

/** `<SERVICE>_SERVICE_URLS` of every service of the catalog, plus a test gateway's own settings. */
export function upstreamVariables(upstreams: Partial<Record<string, string[]>> = {}): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...Object.fromEntries(
      serviceNames.map((service) => [
        serviceVariables(service).serviceUrls,
        (upstreams[service] ?? Object.values(upstreams)[0] ?? ['http://127.0.0.1:9']).join(','),
      ]),
    ),
  };
}

/** Parses a JSON body when there is one. */
export async function call(base: string, path: string, init?: RequestInit) {
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read whichever fields the answer they expect has.
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { response, status: response.status, headers: response.headers, body };
}

/** A loopback URL where nothing listens. */
export async function deadUrl(): Promise<string> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}
