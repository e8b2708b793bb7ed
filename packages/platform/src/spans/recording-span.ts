import { nextSpanId } from './ids.ts';
import type { AttributeValue, SpanKindName, SpanStore, StoredSpan } from './store.ts';

/** Wall-clock milliseconds with sub-millisecond precision, for span timings. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** OpenTelemetry's ERROR status code, so callers may pass `{ code: SpanStatusCode.ERROR }`. */
const errorCode = 2;

/**
 * A span of the console's store: its own fields, written once into the store when it ends. It
 * answers the few calls the instrumentation makes (attributes, status, exception, name, end), so the
 * same code records into OpenTelemetry or here.
 */
export class RecordingSpan implements StoredSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentId: string | undefined;
  readonly service: string;
  readonly kind: SpanKindName;
  name: string;
  readonly startedAt: number;
  durationMs = 0;
  error = false;
  readonly attributes: Record<string, AttributeValue>;
  #store: SpanStore | undefined;

  constructor(
    store: SpanStore,
    service: string,
    name: string,
    kind: SpanKindName,
    traceId: string,
    parentId: string | undefined,
    attributes: Record<string, AttributeValue>,
  ) {
    this.#store = store;
    this.service = service;
    this.name = name;
    this.kind = kind;
    this.traceId = traceId;
    this.spanId = nextSpanId();
    this.parentId = parentId;
    this.attributes = attributes;
    this.startedAt = nowMs();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.attributes[key] = value;
    return this;
  }

  setStatus(status: { code: number; message?: string }): this {
    if (status.code === errorCode) {
      this.error = true;
      if (status.message) this.attributes['status.message'] = status.message;
    }
    return this;
  }

  recordException(exception: Error): void {
    this.attributes['exception.message'] = String(exception?.message ?? exception);
  }

  updateName(name: string): this {
    this.name = name;
    return this;
  }

  /** Kept once: a second `end()` changes nothing. */
  end(): void {
    const store = this.#store;
    if (!store) return;
    this.#store = undefined;
    this.durationMs = nowMs() - this.startedAt;
    store.add(this);
  }
}

/**
 * A span of a trace the span store does not keep (sampled out): it records nothing and passes on a
 * `traceparent` whose flags say so (`-00`), so the servers and consumers after it skip it too.
 */
export class SkippedSpan {
  readonly traceparent: string;
  constructor(traceparent: string) {
    this.traceparent = traceparent;
  }
  setAttribute(): this {
    return this;
  }
  setStatus(): this {
    return this;
  }
  recordException(): void {}
  updateName(): this {
    return this;
  }
  end(): void {}
}
