import { getCompileCacheDir } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Answer, Request, SerializedError } from './pglite-thread.ts';

type Env = Record<string, string | undefined>;

/** What the services use of an embedded database: PGlite itself, or one on the database thread. */
export interface EmbeddedClient {
  query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string): Promise<{ rows: unknown[] }[]>;
  close(): Promise<void>;
  readonly closed: boolean;
  readonly waitReady: Promise<void>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

/**
 * The one thread of this process that runs every embedded database (PostgreSQL compiled to
 * WebAssembly). On the main thread, the databases' work (their start, then every statement) took
 * turns with the HTTP servers' on one core while the machine's other core stayed idle; here it runs
 * beside them. Started with the first database and kept for the next ones (with PostgreSQL's code
 * compiled once), but it keeps the process alive only while a database is open.
 */
class DatabaseThread {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #open = 0;
  #failure?: Error;

  constructor() {
    this.#worker = new Worker(new URL('./pglite-thread.ts', import.meta.url), {
      workerData: { compileCacheDir: getCompileCacheDir() },
      // The databases' memory is WebAssembly's, outside these limits; the thread's own heap is small.
      resourceLimits: { maxYoungGenerationSizeMb: 16 },
    });
    this.#worker.on('message', ([id, ok, result]: Answer) => {
      const pending = this.#pending.get(id);
      if (!pending) return;
      this.#pending.delete(id);
      if (ok) pending.resolve(result);
      else pending.reject(revive(result as SerializedError));
    });
    const fail = (error: Error) => {
      // Its databases are gone with it; databases opened from now on get a new thread.
      if (thread === this) thread = undefined;
      this.#failure = error;
      for (const pending of this.#pending.values()) pending.reject(error);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => fail(new Error(`the embedded database thread exited (${code})`)));
  }

  send<T>(request: Request): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(request[0], { resolve: resolve as (value: unknown) => void, reject });
      this.#worker.postMessage(request);
    });
  }

  id(): number {
    return this.#nextId++;
  }

  /** A database opens on the thread: the thread keeps the process alive while any is open. */
  opened(): void {
    if (this.#open++ === 0) this.#worker.ref();
  }

  /** A database on the thread is closed (or failed to open). */
  closed(): void {
    if (--this.#open === 0) this.#worker.unref();
  }
}

function revive({ name, message, stack, fields }: SerializedError): Error {
  const error = Object.assign(new Error(message), fields);
  error.name = name;
  if (stack) error.stack = stack;
  return error;
}

let thread: DatabaseThread | undefined;
let nextDatabase = 0;

/** An embedded database running on the database thread, used as PGlite itself is. */
class RemotePglite implements EmbeddedClient {
  readonly waitReady: Promise<void>;
  readonly #thread: DatabaseThread;
  readonly #database = nextDatabase++;
  #closed = false;

  constructor(folder: string | undefined, env: Env) {
    thread ??= new DatabaseThread();
    this.#thread = thread;
    thread.opened();
    this.waitReady = this.#thread.send<void>([this.#thread.id(), 'open', this.#database, folder, { ...env }]);
    // A database that fails to open is closed: it no longer keeps the thread.
    this.waitReady.catch(() => this.#forget());
  }

  get closed(): boolean {
    return this.#closed;
  }

  query<R>(sql: string, params: unknown[] = []): Promise<{ rows: R[]; affectedRows?: number }> {
    return this.#thread.send([this.#thread.id(), 'query', this.#database, sql, params]);
  }

  exec(sql: string): Promise<{ rows: unknown[] }[]> {
    return this.#thread.send([this.#thread.id(), 'exec', this.#database, sql]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#thread.send([this.#thread.id(), 'close', this.#database]);
    } finally {
      this.#forget();
    }
  }

  #forget(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#thread.closed();
  }
}

/** Opens the embedded database in `folder` (or in memory) on the database thread. */
export async function openPgliteRemote(folder: string | undefined, env: Env): Promise<EmbeddedClient> {
  const client = new RemotePglite(folder, env);
  await client.waitReady;
  return client;
}
