/**
 * The thread the embedded databases run on (see `pglite-remote.ts`). It opens each database it is
 * asked for, runs the statements sent to it one message at a time, and answers each message with its
 * result or its error. Run by `new Worker()`, never imported.
 */
import { enableCompileCache } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type { EmbeddedClient } from './pglite-remote.ts';

type Env = Record<string, string | undefined>;

/** A request: its id, what to do, on which database, and the arguments. */
export type Request =
  | [id: number, op: 'open', database: number, folder: string | undefined, env: Env]
  | [id: number, op: 'query', database: number, sql: string, params: unknown[]]
  | [id: number, op: 'exec', database: number, sql: string]
  | [id: number, op: 'close', database: number];

/** An answer: the request's id, then a result or a serialized error. */
export type Answer =
  | [id: number, ok: true, result: unknown]
  | [id: number, ok: false, error: SerializedError];

/** An error as it crosses threads: structured clone keeps only an Error's message and name. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  fields: Record<string, unknown>;
}

if (!parentPort) throw new Error('pglite-thread.ts runs as a worker thread');
const port = parentPort;
const { compileCacheDir } = (workerData ?? {}) as { compileCacheDir?: string };
if (compileCacheDir) enableCompileCache(compileCacheDir);

// Loaded after the compile cache is on, so PGlite's own modules come from it.
const { openPgliteHere } = await import('./pglite.ts');
const { withPreparedStatements } = await import('./pglite-prepared.ts');
const databases = new Map<number, Promise<EmbeddedClient>>();

function serialize(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  // PostgreSQL's fields (code, constraint, detail, ...): what callers read to tell errors apart.
  for (const [key, value] of Object.entries(error)) {
    if (value === undefined || typeof value === 'function' || typeof value === 'object') continue;
    fields[key] = value;
  }
  return { name: error.name, message: error.message, stack: error.stack, fields };
}

async function run(request: Request): Promise<unknown> {
  const [, op, database] = request;
  if (op === 'open') {
    const opening = openPgliteHere(request[3], request[4]).then((pglite) => withPreparedStatements(pglite));
    databases.set(database, opening);
    await opening;
    return null;
  }
  const client = await databases.get(database);
  if (!client) throw new Error(`embedded database ${database} is not open`);
  switch (op) {
    case 'query': {
      const { rows, affectedRows } = await client.query(request[3], request[4]);
      return { rows, affectedRows };
    }
    case 'exec':
      // Callers read the last statement's rows only; the others need not cross.
      return [{ rows: (await client.exec(request[3])).at(-1)?.rows ?? [] }];
    case 'close':
      databases.delete(database);
      if (!client.closed) await client.close();
      return null;
  }
}

port.on('message', (request: Request) => {
  const id = request[0];
  run(request).then(
    (result) => port.postMessage([id, true, result] satisfies Answer),
    (error: unknown) => port.postMessage([id, false, serialize(error)] satisfies Answer),
  );
});
