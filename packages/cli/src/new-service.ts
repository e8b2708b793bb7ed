#!/usr/bin/env node
/**
 * `npm run new:service -- <name> [--resource <singular>] [--resources <path>] [--prefix <id prefix>]`
 * scaffolds a service that works the moment it is generated: its folder (`http/ domain/ db/
 * events/`), a contract module with one example resource (list, get, create with Idempotency-Key,
 * update under optimistic locking, soft delete) and its event, its migrations, a test through the
 * gateway, and its place in the catalog, compose, Kubernetes and the Dockerfile.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { allOperations } from '@armature/contracts/all-operations';
import { envPrefix, serviceCatalog } from '@armature/contracts/services';
import { eventsMigrationFile } from '@armature/platform/events/index';
import { idPrefixes } from '@armature/platform/ids';

const templates = fileURLToPath(new URL('../templates/service/', import.meta.url));
const reserved = new Set([
  'gateway',
  'platform',
  'contracts',
  'cli',
  'client',
  'testing',
  'events',
  'health',
]);

export interface NewServiceOptions {
  name: string;
  resource?: string;
  resources?: string;
  prefix?: string;
  /** The repository to write into (default: this one). */
  root?: string;
  /** Leave `npm install` out (the caller links the workspace itself). */
  skipInstall?: boolean;
  log?: (line: string) => void;
}

export class ScaffoldError extends Error {}

const capital = (word: string) => word[0]!.toUpperCase() + word.slice(1);

/** The names a template uses, from the service's name and its example resource. */
export function scaffoldNames(options: NewServiceOptions) {
  const word = /^[a-z][a-z0-9]{1,29}$/;
  const { name } = options;
  if (!word.test(name)) {
    throw new ScaffoldError(
      `the service name must be one lowercase word (letters and digits, 2–30), got "${name}"`,
    );
  }
  if (reserved.has(name) || serviceCatalog.some((entry) => entry.name === name)) {
    throw new ScaffoldError(`"${name}" is taken: pick another service name`);
  }
  const resource = options.resource ?? (name.endsWith('s') ? name.slice(0, -1) : name);
  const resources = options.resources ?? (resource === name ? `${resource}s` : name);
  for (const [flag, value] of [
    ['--resource', resource],
    ['--resources', resources],
  ] as const) {
    if (!word.test(value)) throw new ScaffoldError(`${flag} must be one lowercase word, got "${value}"`);
  }
  const roots = new Set(allOperations.map((operation) => operation.path.split('/')[1]));
  if (roots.has(resources))
    throw new ScaffoldError(`/${resources} is already served: pass --resources <path>`);
  const typePrefixes = new Set<string>(serviceCatalog.map((entry) => entry.events.typePrefix));
  if (typePrefixes.has(resource))
    throw new ScaffoldError(`events "${resource}.*" exist already: pass --resource`);
  const taken = new Set<string>([
    ...Object.values(idPrefixes),
    ...serviceCatalog.map((entry) => entry.events.idPrefix),
  ]);
  const letters = resource.replace(/[^a-z]/g, '');
  const prefix =
    options.prefix ??
    [3, 4, 5, letters.length].map((length) => letters.slice(0, length)).find((p) => !taken.has(p));
  if (!prefix || !/^[a-z]{2,20}$/.test(prefix) || taken.has(prefix)) {
    throw new ScaffoldError(`no free id prefix for "${resource}": pass --prefix <2–20 lowercase letters>`);
  }
  const port = Math.max(...serviceCatalog.map((entry) => entry.port)) + 1;
  return {
    service: name,
    Service: capital(name),
    SERVICE: envPrefix(name),
    resource,
    Resource: capital(resource),
    resources,
    Resources: capital(resources),
    table: resources,
    prefix,
    port: String(port),
  };
}

type Names = ReturnType<typeof scaffoldNames>;

function render(text: string, names: Names): string {
  return text.replace(
    /__(service|Service|SERVICE|resources|Resources|resource|Resource|table|prefix|port)__/g,
    (_, key: keyof Names) => names[key],
  );
}

function templateFiles(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.tmpl'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Inserts `lines` just above the line holding `armature:new-service <marker>`, at its indentation. */
function insertAtMarker(root: string, file: string, marker: string, lines: string[]): void {
  const path = join(root, file);
  const text = readFileSync(path, 'utf8');
  const pattern = new RegExp(`^([ \\t]*)(?://|#|--) armature:new-service ${marker}$`, 'm');
  const found = pattern.exec(text);
  if (!found) throw new ScaffoldError(`${file} has lost its "armature:new-service ${marker}" line`);
  const indent = found[1]!;
  const block = lines.map((line) => (line ? `${indent}${line}` : line)).join('\n');
  writeFileSync(path, `${text.slice(0, found.index)}${block}\n${text.slice(found.index)}`);
}

function editJson(
  root: string,
  file: string,
  change: (json: Record<string, Record<string, string>>) => void,
) {
  const path = join(root, file);
  const json = JSON.parse(readFileSync(path, 'utf8'));
  change(json);
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
}

const sorted = (record: Record<string, string>) =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));

/** Writes the service; returns the files it created and changed, relative to the repository. */
export function newService(options: NewServiceOptions): { created: string[]; changed: string[] } {
  const root = options.root ?? fileURLToPath(new URL('../../../', import.meta.url));
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const names = scaffoldNames(options);
  const { service, SERVICE, resource, Resource, port } = names;
  if (existsSync(join(root, 'services', service)))
    throw new ScaffoldError(`services/${service} exists already`);

  const created: string[] = [];
  for (const template of templateFiles(templates)) {
    const target = render(relative(templates, template), names).replace(/\.tmpl$/, '');
    if (existsSync(join(root, target))) throw new ScaffoldError(`${target} exists already`);
    mkdirSync(dirname(join(root, target)), { recursive: true });
    writeFileSync(join(root, target), render(readFileSync(template, 'utf8'), names));
    created.push(target);
  }
  // The outbox and inbox tables come to every service as its own copy of the platform's migration.
  const eventsMigration = `services/${service}/src/db/migrations/0010_events.sql`;
  copyFileSync(fileURLToPath(eventsMigrationFile), join(root, eventsMigration));
  created.push(eventsMigration);

  const contracts = 'packages/contracts/src';
  insertAtMarker(root, `${contracts}/services.ts`, 'catalog', [
    '{',
    `  name: '${service}',`,
    `  port: ${port},`,
    `  events: { typePrefix: '${resource}', idPrefix: '${names.prefix}' },`,
    '},',
  ]);
  insertAtMarker(root, `${contracts}/all-operations.ts`, 'imports', [
    `import { ${service}Operations } from './${service}.ts';`,
  ]);
  insertAtMarker(root, `${contracts}/all-operations.ts`, 'areas', [`${service}Operations,`]);
  insertAtMarker(root, `${contracts}/index.ts`, 'exports', [
    `export * from './${service}.ts';`,
    `export * from './${service}-events.ts';`,
  ]);
  insertAtMarker(root, `${contracts}/events.ts`, 'event-imports', [
    `import { ${Resource}CreatedData, ${Resource}Id } from './${service}-events.ts';`,
  ]);
  insertAtMarker(root, `${contracts}/events.ts`, 'event-data', [
    `'${resource}.created': ${Resource}CreatedData,`,
  ]);
  insertAtMarker(root, `${contracts}/events.ts`, 'event-envelopes', [
    `export const ${Resource}CreatedEvent = eventEnvelope('${resource}.created', ${Resource}Id, ${Resource}CreatedData);`,
  ]);
  insertAtMarker(root, `${contracts}/events.ts`, 'event-union', [`${Resource}CreatedEvent,`]);
  insertAtMarker(root, 'compose.yaml', 'compose', [
    `${service}:`,
    '  <<: *service',
    `  command: ["services/${service}/src/main.ts"]`,
    '  deploy: { replicas: 2 }',
    '  environment:',
    '    <<: *common-env',
    `    ${SERVICE}_HOST: 0.0.0.0`,
    `    ${SERVICE}_PORT: "${port}"`,
    `    ${SERVICE}_DATABASE_URL: postgres://postgres:armature@postgres:5432/armature_${service}`,
    '    USERS_SERVICE_URLS: http://users:8081',
    '',
  ]);
  insertAtMarker(root, 'compose.yaml', 'gateway-env', [`${SERVICE}_SERVICE_URLS: http://${service}:${port}`]);
  insertAtMarker(root, 'deploy/k8s/config.yaml', 'config-urls', [
    `${SERVICE}_SERVICE_URLS: http://${service}.armature.svc.cluster.local:${port}`,
  ]);
  insertAtMarker(root, 'deploy/k8s/config.yaml', 'secret-databases', [
    `${SERVICE}_DATABASE_URL: postgres://armature:change-me@postgres.armature.svc.cluster.local:5432/armature_${service}`,
  ]);
  insertAtMarker(root, 'deploy/postgres-init.sql', 'databases', [`CREATE DATABASE armature_${service};`]);
  insertAtMarker(root, 'packages/contracts/spectral/ruleset.yaml', 'spectral-prefixes', [
    `${resource}: ${names.prefix}`,
  ]);
  insertAtMarker(root, 'Dockerfile', 'dockerfile', [
    `COPY services/${service}/package.json services/${service}/`,
  ]);
  editJson(root, 'package.json', (json) => {
    json.scripts![`start:${service}`] = `node services/${service}/src/main.ts`;
  });
  editJson(root, 'packages/cli/package.json', (json) => {
    json.dependencies = sorted({ ...json.dependencies, [`@armature/${service}`]: '*' });
  });
  const changed = [
    `${contracts}/services.ts`,
    `${contracts}/all-operations.ts`,
    `${contracts}/index.ts`,
    `${contracts}/events.ts`,
    'compose.yaml',
    'deploy/k8s/config.yaml',
    'deploy/postgres-init.sql',
    'packages/contracts/spectral/ruleset.yaml',
    'Dockerfile',
    'package.json',
    'packages/cli/package.json',
  ];

  const run = (command: string, args: string[]) =>
    execFileSync(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (!options.skipInstall) {
    log('npm install (links the new workspace and records it in package-lock.json)…');
    run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund']);
  }
  log('npm run contracts:generate…');
  run(process.execPath, ['packages/contracts/scripts/generate-openapi.ts']);
  run(process.execPath, [
    'node_modules/@biomejs/biome/bin/biome',
    'check',
    '--write',
    ...created.filter((file) => /\.(ts|json)$/.test(file)),
    ...changed.filter((file) => /\.(ts|json)$/.test(file)),
  ]);
  return { created, changed };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      resource: { type: 'string' },
      resources: { type: 'string' },
      prefix: { type: 'string' },
      'skip-install': { type: 'boolean', default: false },
    },
  });
  const name = positionals[0];
  if (!name) {
    process.stderr.write(
      'usage: npm run new:service -- <name> [--resource <singular>] [--resources <path>] [--prefix <id prefix>]\n',
    );
    process.exit(2);
  }
  try {
    const { created, changed } = newService({
      name,
      resource: values.resource,
      resources: values.resources,
      prefix: values.prefix,
      skipInstall: values['skip-install'],
    });
    process.stdout.write(
      `\nCreated ${created.length} files:\n${created.map((file) => `  ${file}`).join('\n')}\n` +
        `Changed:\n${changed.map((file) => `  ${file}`).join('\n')}\n\n` +
        `Next: npx vitest run services/${name}   (its tests, through the gateway)\n` +
        `      npm start                          (it is served at /v1/${scaffoldNames({ name, ...values }).resources})\n`,
    );
  } catch (error) {
    if (error instanceof ScaffoldError) {
      process.stderr.write(`new:service: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
