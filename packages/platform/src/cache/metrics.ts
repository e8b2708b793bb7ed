import { Counter, Registry } from 'prom-client';

type CounterName = 'hits' | 'misses' | 'coalesced' | 'bypassed' | 'errors' | 'invalidations';

const help: Record<CounterName, string> = {
  hits: 'Lookups answered from the cache',
  misses: 'Lookups that found nothing and called the loader (or would have)',
  coalesced: 'Lookups that joined a lookup of the same key already in flight',
  bypassed: 'Lookups that went straight to the loader because the cache store was unavailable',
  errors: 'Cache store operations that failed (the request went on without the cache)',
  invalidations: 'Invalidations requested (each covering one or more keys or tags)',
};

/**
 * Hit and miss counters of one cache. The request path only increments plain numbers (a labelled
 * prom-client `inc` hashes its labels on every call); the registry reads them when scraped.
 */
export class CacheMetrics {
  hits = 0;
  misses = 0;
  coalesced = 0;
  bypassed = 0;
  errors = 0;
  invalidations = 0;

  /** The counters, as `cache_<name>_total{cache="…"}`, on their own; `register` adds them to another registry. */
  readonly registry = new Registry();
  readonly #cache: string;

  constructor(cache: string) {
    this.#cache = cache;
    this.register(this.registry);
  }

  /** Exposes the counters in `registry` too (the server's `/metrics`). */
  register(registry: Registry): void {
    const read = (name: CounterName) => this[name];
    const cache = this.#cache;
    for (const name of Object.keys(help) as CounterName[]) {
      new Counter({
        name: `cache_${name}_total`,
        help: help[name],
        labelNames: ['cache'] as const,
        registers: [registry],
        collect() {
          this.reset();
          this.inc({ cache }, read(name));
        },
      });
    }
  }
}
