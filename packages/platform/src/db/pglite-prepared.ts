import { type PGlite, parse, protocol } from '@electric-sql/pglite';
import type { EmbeddedClient } from './pglite-remote.ts';
import { STALE_PLAN, StatementNames } from './statement-names.ts';

type BackendMessage = Awaited<ReturnType<PGlite['execProtocolStream']>>[number];

interface Prepared {
  name: string;
  /** The parameters' type OIDs, for PGlite's serializers (a `bigint[]` is not a `text`). */
  parameterTypes: number[];
  /** The rows' description, sent once at prepare time instead of with every execution. */
  rowDescription?: BackendMessage;
}

const { serialize } = protocol;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((size, part) => size + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * An embedded database whose statements sent again and again run as named (prepared) statements.
 * PGlite's own `query` sends every statement unnamed, as six messages with a call into WebAssembly
 * each (parse, describe, bind, describe, execute, sync), so PostgreSQL parses and plans it every
 * time: that was most of an embedded checkout's database time (a select of the outbox by its index
 * took 324 µs that way, 44 µs prepared). Here a text seen twice is parsed and described once, then
 * each run is one call (bind, execute, sync), its rows read with the description kept from the
 * prepare. The naming rules (and the retry after a migration changed a prepared `select *`) are
 * those of the PostgreSQL pool (`StatementNames`).
 */
export function withPreparedStatements(pglite: PGlite, names = new StatementNames()): EmbeddedClient {
  const prepared = new Map<string, Prepared>();

  const prepare = async (name: string, text: string): Promise<Prepared> => {
    const messages = await pglite.execProtocolStream(
      concat([serialize.parse({ name, text }), serialize.describe({ type: 'S', name }), serialize.sync()]),
    );
    const description = messages.find((message) => message.name === 'parameterDescription') as
      | { dataTypeIDs: number[] }
      | undefined;
    return {
      name,
      parameterTypes: description?.dataTypeIDs ?? [],
      rowDescription: messages.find((message) => message.name === 'rowDescription'),
    };
  };

  const run = async <R>(name: string, text: string, params: unknown[]) => {
    let statement = prepared.get(text);
    if (statement?.name !== name) {
      statement = await prepare(name, text);
      prepared.set(text, statement);
    }
    const { parameterTypes, rowDescription } = statement;
    const values = params.map((param, index) => {
      if (param === null || param === undefined) return null;
      const serializer = pglite.serializers[parameterTypes[index] ?? 0];
      return serializer ? serializer(param) : String(param);
    });
    const messages = await pglite.execProtocolStream(
      concat([serialize.bind({ statement: name, values }), serialize.execute({}), serialize.sync()]),
    );
    const [result] = parse.parseResults(
      rowDescription ? [rowDescription, ...messages] : messages,
      pglite.parsers,
    );
    return { rows: (result?.rows ?? []) as R[], affectedRows: result?.affectedRows };
  };

  return {
    async query<R>(text: string, params: unknown[] = []) {
      const name = names.nameFor(text);
      if (name === undefined) return pglite.query<R>(text, params);
      try {
        return await pglite._runExclusiveQuery(() => run<R>(name, text, params));
      } catch (error) {
        if ((error as { code?: string }).code !== STALE_PLAN) throw withQuery(error, text, params);
        names.forget();
        prepared.clear();
        if (pglite.isInTransaction()) throw withQuery(error, text, params);
        return pglite.query<R>(text, params);
      }
    },
    exec: (text) => pglite.exec(text),
    close: () => pglite.close(),
    get closed() {
      return pglite.closed;
    },
    waitReady: pglite.waitReady,
  };
}

/** The statement and its parameters on the error, as PGlite's `query` adds them (for the logs). */
function withQuery(error: unknown, query: string, params: unknown[]): unknown {
  if (error && typeof error === 'object') Object.assign(error, { query, params });
  return error;
}
