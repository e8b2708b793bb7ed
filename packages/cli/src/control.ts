import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { manifestName, snapshotEmbedded } from '@armature/platform/db/snapshot';
import { create as createTar } from 'tar';

/** Where a running embedded system says how to reach its control endpoint (mode 0600). */
export const controlFile = (dataDir: string) => join(resolve(dataDir), 'control.json');

export interface ControlInfo {
  pid: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  token: string;
}

export interface ControlServer {
  close(): Promise<void>;
}

/**
 * The embedded process's control endpoint, for `armature backup`: HTTP on 127.0.0.1 only, on a free
 * port, answering only requests that carry the token written to `DATA_DIR/control.json` (readable by
 * the data folder's owner alone, who could copy the data anyway). `POST /backup` answers a gzipped
 * tar of a consistent snapshot of every embedded database (`snapshotEmbedded`).
 */
export async function startControlServer(dataDir: string): Promise<ControlServer> {
  const token = randomBytes(32).toString('base64url');
  const expected = Buffer.from(`Bearer ${token}`);
  const server: Server = createServer((request, response) => {
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      response.writeHead(401).end();
      return;
    }
    if (request.method !== 'POST' || request.url !== '/backup') {
      response.writeHead(404).end();
      return;
    }
    void backup(dataDir, response).catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(`backup failed: ${error instanceof Error ? error.message : String(error)}\n`);
      } else {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as { port: number };
  const info: ControlInfo = { pid: process.pid, url: `http://127.0.0.1:${port}`, token };
  await writeFile(controlFile(dataDir), `${JSON.stringify(info)}\n`, { mode: 0o600 });
  return {
    async close() {
      await rm(controlFile(dataDir), { force: true });
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** The snapshot is copied into the data folder (same file system: a fast copy), sent, then removed. */
async function backup(dataDir: string, response: import('node:http').ServerResponse): Promise<void> {
  const staging = await mkdtemp(join(resolve(dataDir), '.backup-'));
  try {
    const manifest = await snapshotEmbedded(staging);
    response.writeHead(200, {
      'content-type': 'application/gzip',
      'x-backup-taken-at': manifest.takenAt,
    });
    await pipeline(
      createTar({ gzip: true, cwd: staging, portable: true }, [manifestName, ...manifest.services]),
      response,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The running system's control endpoint, if one answers for `dataDir`. */
export async function findControl(dataDir: string): Promise<ControlInfo | undefined> {
  let info: ControlInfo;
  try {
    info = JSON.parse(await readFile(controlFile(dataDir), 'utf8')) as ControlInfo;
  } catch {
    return undefined;
  }
  try {
    process.kill(info.pid, 0);
  } catch {
    return undefined; // left behind by a process that was killed
  }
  return info;
}
