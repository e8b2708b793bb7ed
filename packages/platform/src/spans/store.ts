import { ConfigError } from '../config.ts';

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type AttributeValue = string | number | boolean;

/** One span as the store keeps it: a request, an upstream call, a query, an event handled. */
export interface StoredSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | undefined;
  /** The server that recorded it (`gateway`, `orders`, …). */
  readonly service: string;
  readonly kind: SpanKindName;
  readonly name: string;
  /** Epoch milliseconds, fractional. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly error: boolean;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

/**
 * The latest finished spans of this process, in a ring of fixed size: the newest replaces the oldest,
 * so memory stays bounded however busy the process is, and adding a span is one array write. Reads
 * (the console's searches) walk the ring; they are rare and admin-only.
 */
export class SpanStore {
  readonly capacity: number;
  readonly #ring: (StoredSpan | undefined)[];
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#ring = new Array(capacity).fill(undefined);
  }

  add(span: StoredSpan): void {
    this.#ring[this.#next] = span;
    this.#next = this.#next + 1 === this.capacity ? 0 : this.#next + 1;
  }

  /** Newest first: the spans `match` accepts, at most `limit`. */
  find(match: (span: StoredSpan) => boolean, limit: number): StoredSpan[] {
    const found: StoredSpan[] = [];
    for (let step = 1; step <= this.capacity && found.length < limit; step++) {
      const span = this.#ring[(this.#next - step + this.capacity) % this.capacity];
      if (span === undefined) break;
      if (match(span)) found.push(span);
    }
    return found;
  }

  /** Every span kept of one trace, in order of start. */
  trace(traceId: string): StoredSpan[] {
    return this.find((span) => span.traceId === traceId, this.capacity).sort(
      (a, b) => a.startedAt - b.startedAt,
    );
  }

  clear(): void {
    this.#ring.fill(undefined);
    this.#next = 0;
  }
}

const defaultCapacity = 5000;
let processStore: SpanStore | undefined;

/**
 * The process's span store, shared by every server in it (embedded mode runs the gateway and the
 * services in one process, so one store holds whole traces). `CONSOLE_TRACES_SPANS` sizes it.
 */
export function spanStore(env: Record<string, string | undefined> = process.env): SpanStore {
  if (!processStore) {
    const size = Number(env.CONSOLE_TRACES_SPANS ?? defaultCapacity);
    if (!Number.isInteger(size) || size < 1 || size > 1_000_000) {
      throw new ConfigError(
        'CONSOLE_TRACES_SPANS',
        `must be a whole number of spans from 1 to 1000000, got "${env.CONSOLE_TRACES_SPANS}"`,
      );
    }
    processStore = new SpanStore(size);
  }
  return processStore;
}
