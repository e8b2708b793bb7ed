import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadServices } from '@armature/cli/services';
import { serviceNames } from '@armature/contracts/services';
import { serviceVariables } from '@armature/platform/kit/config';
import { createServer } from '@armature/platform/server';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

// No container engine runs here, so these tests prove what can be proven without one: the files
// parse, every variable they set is one the configuration reads, and every path they name exists.

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');

function sourceFiles(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Every variable some configuration reader reads, found in the sources. */
const knownVariables = new Set(
  ['packages', 'services']
    .flatMap((folder) => sourceFiles(folder))
    .flatMap((file) => [
      ...readFileSync(file, 'utf8').matchAll(/(?:read\w+\(\s*env,\s*|ConfigError\(\s*)'([A-Z][A-Z0-9_]+)'/g),
    ])
    .map((match) => match[1]!)
    // Each service's own variables, read under its prefix by the kit.
    .concat(serviceNames.flatMap((service) => Object.values(serviceVariables(service)))),
);

interface Container {
  args?: string[];
  ports?: Array<{ containerPort: number }>;
  env?: Array<{ name: string }>;
  readinessProbe?: { httpGet: { path: string; port: number } };
  livenessProbe?: { httpGet: { path: string; port: number } };
}

const manifests = readdirSync(join(root, 'deploy/k8s'))
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) => parseAllDocuments(read(`deploy/k8s/${file}`)).map((doc) => ({ file, doc })));

describe('the configuration readers', () => {
  it('are found by this test (so the checks below compare against something real)', () => {
    for (const name of ['PORT', 'USERS_DATABASE_URL', 'REDIS_URL', 'NATS_URL', 'RATE_LIMIT_MAX_REQUESTS']) {
      expect(knownVariables).toContain(name);
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('builds on Node 24 slim in stages, installs production dependencies only, runs as non-root', () => {
    expect(dockerfile.match(/^FROM node:24-slim AS \w+/gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    expect(dockerfile).toMatch(/^USER node$/m);
  });
  it('starts a script that exists', () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    expect(existsSync(join(root, cmd[0]!))).toBe(true);
  });
  it('copies every workspace package manifest that exists, and each workspace has its manifest copied', () => {
    const copied = [...dockerfile.matchAll(/^COPY (\S+\/package\.json) /gm)].map((match) => match[1]!);
    for (const file of copied) expect(existsSync(join(root, file)), file).toBe(true);
    const workspaces = (JSON.parse(read('package.json')) as { workspaces: string[] }).workspaces.flatMap(
      (pattern) =>
        pattern.endsWith('/*')
          ? readdirSync(join(root, pattern.slice(0, -2)), { withFileTypes: true })
              .filter(
                (entry) =>
                  entry.isDirectory() && existsSync(join(entry.parentPath, entry.name, 'package.json')),
              )
              .map((entry) => `${pattern.slice(0, -1)}${entry.name}`)
          : [pattern],
    );
    // npm ci in the image needs every workspace of the lock file.
    for (const workspace of workspaces) expect(copied, workspace).toContain(`${workspace}/package.json`);
  });
});

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
  };
  const ours = Object.entries(compose.services).filter(([, service]) =>
    service.command?.[0]?.endsWith('.ts'),
  );

  it('runs the gateway, every service of the catalog and their sidecars, each on a script that exists', async () => {
    const sidecars = (await loadServices()).flatMap((service) =>
      service.sidecar ? [service.sidecar.name] : [],
    );
    expect(ours.map(([name]) => name).sort()).toEqual(['gateway', ...serviceNames, ...sidecars].sort());
    for (const [, service] of ours) expect(existsSync(join(root, service.command![0]!))).toBe(true);
  });
  it('sets only variables the configuration knows', () => {
    for (const [name, service] of ours) {
      for (const variable of Object.keys(service.environment ?? {})) {
        expect(knownVariables, `${name}: ${variable}`).toContain(variable);
      }
    }
  });
});

describe('Kubernetes manifests', () => {
  const kinds = manifests.map(({ doc }) => (doc.toJS() as { kind: string }).kind);
  const deployments = manifests
    .map(
      ({ doc }) =>
        doc.toJS() as {
          kind: string;
          metadata: { name: string };
          spec: { template: { spec: { containers: Container[] } } };
        },
    )
    .filter((resource) => resource.kind === 'Deployment');

  it('parse without errors and hold a Deployment, Service and HPA per service', () => {
    for (const { file, doc } of manifests) expect(doc.errors, file).toEqual([]);
    const everyProcess = ['gateway', ...serviceNames].sort();
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(everyProcess);
    expect(kinds.filter((kind) => kind === 'HorizontalPodAutoscaler')).toHaveLength(everyProcess.length);
    expect(kinds.filter((kind) => kind === 'Service').length).toBeGreaterThanOrEqual(everyProcess.length);
    expect(kinds).toContain('ConfigMap');
    expect(kinds).toContain('Secret');
  });

  it('probe readiness on /health/ready and liveness on /health/live, on the container port', () => {
    for (const deployment of deployments) {
      const [container] = deployment.spec.template.spec.containers;
      const port = container!.ports![0]!.containerPort;
      expect(container!.readinessProbe!.httpGet).toEqual({ path: '/health/ready', port });
      expect(container!.livenessProbe!.httpGet).toEqual({ path: '/health/live', port });
      expect(existsSync(join(root, container!.args![0]!))).toBe(true);
    }
  });

  it('set only variables the configuration knows (env, ConfigMap and Secret keys)', () => {
    const names = manifests.flatMap(({ doc }) => {
      const resource = doc.toJS() as { kind: string; data?: object; stringData?: object };
      if (resource.kind === 'ConfigMap') return Object.keys(resource.data ?? {});
      if (resource.kind === 'Secret') return Object.keys(resource.stringData ?? {});
      return [];
    });
    for (const deployment of deployments) {
      names.push(...(deployment.spec.template.spec.containers[0]!.env ?? []).map((entry) => entry.name));
    }
    for (const name of names) expect(knownVariables, name).toContain(name);
  });
});

describe('probe paths', () => {
  it('exist on every service the server factory builds', async () => {
    const app = createServer({ service: 'probe', logLevel: 'silent' });
    for (const path of ['/health/ready', '/health/live']) {
      expect((await app.inject({ method: 'GET', url: path })).statusCode, path).toBe(200);
    }
    await app.close();
  });
});
