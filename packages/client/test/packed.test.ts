import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, browserSuite, launchBrowser } from '@armature/testing/browser-suite';
import { startSystem, type TestSystem } from '@armature/testing/system';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `@armature/client` as a team gets it: `npm pack`ed, installed from the tarball into a project
 * outside this repository, and used from a Node ≥ 20 script, from TypeScript, and from a page
 * bundled with Vite in a browser — each against a running Armature.
 */

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repository = fileURLToPath(new URL('../../../', import.meta.url));
const admin = { email: 'packed-admin@example.com', password: 'packed admin password 1' };

let folder: string;
let project: string;
let system: TestSystem;
let pageServer: Server | undefined;
let pageOrigin: string;

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'client-packed-'));
  project = join(folder, 'outside');
  await mkdir(project);
  await run('npm', ['pack', '--pack-destination', folder], { cwd: packageDir });
  const tarball = readdirSync(folder).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'outside',
      private: true,
      type: 'module',
      dependencies: { '@armature/client': `file:../${tarball}` },
    }),
  );
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: project,
  });

  pageServer = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://page').pathname;
    const file = join(project, 'page', 'dist', path === '/' ? 'index.html' : path);
    readFile(file).then(
      (body) => {
        response.writeHead(200, {
          'content-type': extname(file) === '.js' ? 'text/javascript' : 'text/html',
        });
        response.end(body);
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => pageServer!.listen(0, '127.0.0.1', resolve));
  const address = pageServer.address();
  pageOrigin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  system = await startSystem({
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    CORS_ORIGINS: pageOrigin,
  });
  const login = await system.call('POST', '/v1/auth/login', { body: admin });
  for (const name of ['Desk lamp', 'Notebook', 'Fountain pen']) {
    const created = await system.call('POST', '/v1/products', {
      token: login.body.accessToken,
      body: { name, description: `A ${name.toLowerCase()}`, price: 12.5, stock: 50 },
    });
    expect(created.status).toBe(201);
  }
}, 300_000);

afterAll(async () => {
  await system?.close();
  await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve(undefined)));
  if (folder) await rm(folder, { recursive: true, force: true });
});

describe('the packed client', () => {
  it('holds built JavaScript and declarations only, and depends on no workspace package', async () => {
    const installed = join(project, 'node_modules', '@armature', 'client');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies)).toEqual(['openapi-fetch']);
    expect(existsSync(join(installed, 'dist', 'index.js'))).toBe(true);
    expect(existsSync(join(installed, 'dist', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(installed, 'src'))).toBe(false);
  });

  it('works from a Node 20 script: sign in, cart, a checkout retried after a lost answer places one order', async (context) => {
    const node = oldestNode();
    context.skip(
      !node,
      'no Node.js 20–23 outside node_modules on this machine: the script ran only on the pinned Node 24',
    );
    const script = join(project, 'shop.mjs');
    await writeFile(script, shopScript);
    const { stdout } = await run(node!.path, [script, system.url], { cwd: project });
    const result = JSON.parse(stdout);
    expect(result.node).toMatch(/^v(2[0-3])\./);
    expect(result.attempts).toBe(2); // the first answer was lost: the client sent the checkout again
    expect(result.sameKey).toBe(true);
    expect(result.orderIds).toHaveLength(1); // and the server placed one order
    expect(result.history).toEqual(result.orderIds);
    expect(result.error).toEqual({ name: 'ArmatureApiError', status: 401, code: 'INVALID_CREDENTIALS' });
  });

  it('type-checks in a TypeScript project: paths, bodies and v2 money come from the contract', async () => {
    await writeFile(join(project, 'check.ts'), typedScript);
    await writeFile(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: [],
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
        },
        files: ['check.ts'],
      }),
    );
    const tsc = join(repository, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', project]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(checked).toBe('');
  }, 120_000);
});

describe('the packed client in a browser page bundled with Vite', browserSuite(), () => {
  let browser: Browser;
  beforeAll(async () => {
    const page = join(project, 'page');
    await mkdir(page);
    await writeFile(join(page, 'index.html'), pageHtml);
    await writeFile(join(page, 'main.js'), pageScript);
    const { build } = await import('vite');
    await build({ root: page, logLevel: 'silent', configFile: false, build: { outDir: join(page, 'dist') } });
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('signs in and lists the products, across origins', async () => {
    const registered = await system.call('POST', '/v1/users', {
      body: { email: 'browser@example.com', name: 'Browser', password: 'browser password 1' },
    });
    expect(registered.status).toBe(201);
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(`${pageOrigin}/?api=${encodeURIComponent(system.url)}`);
    const result = page.locator('#result[data-done]');
    await result.waitFor({ timeout: 30_000 });
    expect(errors).toEqual([]);
    expect(JSON.parse((await result.textContent()) ?? '')).toEqual({
      signedIn: true,
      products: ['Desk lamp', 'Fountain pen', 'Notebook'],
      v2Price: { amount: 1250, currency: 'USD' },
    });
  });
});

/** The oldest Node.js ≥ 20 and < 24 on the PATH outside node_modules (where the pinned 24 sits). */
function oldestNode(): { path: string; major: number } | undefined {
  const found = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !dir.includes('node_modules'))
    .map((dir) => join(dir, 'node'))
    .filter((path) => existsSync(path))
    .map((path) => {
      try {
        const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim();
        return { path, major: Number(version.slice(1).split('.')[0]) };
      } catch {
        return undefined;
      }
    })
    .filter(
      (node): node is { path: string; major: number } =>
        Boolean(node) && node!.major >= 20 && node!.major < 24,
    );
  return found.sort((a, b) => a.major - b.major)[0];
}

/**
 * A shop's script. Its fetch loses the first answer to the checkout after the server has placed the
 * order (as a dropped connection would): the client must send it again with the same key.
 */
const shopScript = `
import { createArmature, isArmatureApiError } from '@armature/client';

const baseUrl = process.argv[2];
let attempts = 0;
const keys = new Set();
const lossy = async (request) => {
  const response = await fetch(request);
  if (request.method === 'POST' && new URL(request.url).pathname.endsWith('/orders')) {
    attempts += 1;
    keys.add(request.headers.get('idempotency-key'));
    if (attempts === 1) throw new TypeError('fetch failed: the connection was lost');
  }
  return response;
};

const armature = createArmature({ baseUrl, fetch: lossy, retry: { baseDelayMs: 10 } });
const email = 'node-' + Date.now() + '@example.com';
const password = 'a long enough password';
await armature.api.POST('/v1/users', { body: { email, name: 'Node Shopper', password } });

let error;
try {
  await armature.auth.login({ email, password: 'not the password' });
} catch (caught) {
  error = isArmatureApiError(caught) ? { name: caught.name, status: caught.status, code: caught.code } : String(caught);
}
await armature.auth.login({ email, password });

const { data: products } = await armature.api.GET('/v1/products', { params: { query: { limit: 1, sort: 'name' } } });
await armature.api.PUT('/v1/users/{id}/cart/items/{productId}', {
  params: { path: { id: 'me', productId: products.data[0].id } },
  body: { quantity: 2 },
});
const { data: order } = await armature.api.POST('/v1/users/{id}/orders', { params: { path: { id: 'me' } } });

const history = [];
for await (const placed of armature.paginate('/v1/users/{id}/orders', { params: { path: { id: 'me' }, query: { limit: 1 } } }))
  history.push(placed.id);
await armature.auth.logout();

console.log(JSON.stringify({ node: process.version, attempts, sameKey: keys.size === 1, orderIds: [order.id], history, error }));
`;

/** Compiles only if the package's types are the contract's. */
const typedScript = `
import { createArmature, type MoneyV2, type Schemas, ArmatureApiError } from '@armature/client';

const armature = createArmature({ baseUrl: 'http://localhost:8080' });
export async function total(id: string): Promise<MoneyV2> {
  const { data } = await armature.api.GET('/v2/orders/{id}', { params: { path: { id } } });
  return data!.total;
}
export async function names(): Promise<string[]> {
  const names: string[] = [];
  for await (const product of armature.paginate('/v1/products')) names.push(product.name ?? '');
  return names;
}
export function codeOf(error: unknown): string | undefined {
  return error instanceof ArmatureApiError ? error.code : undefined;
}
export const user: Partial<Schemas['User']> = { email: 'ada@example.com' };
// @ts-expect-error: not a path of the API
armature.api.GET('/v1/nothing-here');
// @ts-expect-error: v1 money is a number, not an object
export const wrong: MoneyV2 = 12.5;
`;

const pageHtml = `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body><pre id="result">…</pre><script type="module" src="./main.js"></script></body></html>
`;

const pageScript = `
import { createArmature } from '@armature/client';

const api = new URL(location.href).searchParams.get('api');
const armature = createArmature({ baseUrl: api });
const out = document.getElementById('result');
try {
  await armature.auth.login({ email: 'browser@example.com', password: 'browser password 1' });
  const products = [];
  for await (const product of armature.paginate('/v1/products', { params: { query: { sort: 'name', limit: 2 } } }))
    products.push(product.name);
  const { data } = await armature.api.GET('/v2/products', { params: { query: { sort: 'name', limit: 1 } } });
  out.textContent = JSON.stringify({ signedIn: armature.auth.signedIn, products, v2Price: data.data[0].price });
} catch (error) {
  out.textContent = JSON.stringify({ error: String(error), code: error.code });
}
out.dataset.done = 'true';
`;
