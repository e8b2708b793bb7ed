import { describe, expect, it } from 'vitest';
import { growingLru } from './lru.ts';

describe('growingLru', () => {
  it('holds at most its bound, forgetting the least recently used first', () => {
    const cache = growingLru<string, number>(3);
    for (const key of ['a', 'b', 'c']) cache.set(key, key.charCodeAt(0));
    expect(cache.get('a')).toBe(97); // a is now the most recently used
    cache.set('d', 100);
    expect(cache.size).toBe(3);
    expect(cache.has('b')).toBe(false);
    expect([...cache.keys()].sort()).toEqual(['a', 'c', 'd']);
  });

  it('keeps the options it is given, such as a time to live and a dispose hook', async () => {
    const disposed: string[] = [];
    const cache = growingLru<string, number>(2, { ttl: 20, dispose: (_value, key) => disposed.push(key) });
    cache.set('short', 1);
    cache.set('two', 2);
    cache.set('three', 3);
    expect(disposed).toEqual(['short']);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(cache.get('two')).toBeUndefined();
  });
});
