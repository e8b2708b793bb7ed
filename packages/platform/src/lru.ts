import { LRUCache } from 'lru-cache';

const one = () => 1;

/**
 * An LRU cache of at most `max` entries whose tables grow as it fills. Given `max`, lru-cache sizes
 * its tables for that many entries when the cache is made: a 100,000-entry bound is about 2 MB,
 * written at once. A process holds a dozen such bounds, most of them nearly empty, which cost a tenth
 * of a second of every start and tens of MB at idle. Bounding by size, each entry counting one, keeps
 * the same bound and evicts the same way, without the tables made ahead.
 */
export function growingLru<K extends {}, V extends {}>(
  max: number,
  options: Omit<LRUCache.Options<K, V, unknown>, 'max' | 'maxSize' | 'sizeCalculation'> = {},
): LRUCache<K, V> {
  return new LRUCache<K, V>({ ...options, maxSize: max, sizeCalculation: one } as LRUCache.Options<
    K,
    V,
    unknown
  >);
}
