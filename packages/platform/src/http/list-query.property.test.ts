import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../errors.ts';
import { pageRequest, parseFields, parseInstant, parseSort, pickFields } from './list-query.ts';

/**
 * Properties of the list-query parsers over arbitrary input: whatever a client sends, the answer is
 * either a well-formed parse made only of declared names or a 400 naming the parameter — never
 * another error (a 500), never a name the list did not declare (which would reach SQL).
 */

const sortKeys = ['createdAt', 'name', 'email', 'total'] as const;
const fieldNames = ['id', 'email', 'name', 'role', 'version', 'createdAt', 'updatedAt'];

/** Runs `fn`; returns its value, or the ApiError it threw. Anything else thrown fails the property. */
function outcome<T>(fn: () => T): { value: T } | { error: ApiError } {
  try {
    return { value: fn() };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { error };
  }
}

/** Strings a hostile client might send: plain text, full unicode, SQL fragments, and near-misses. */
const hostile = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.string({ maxLength: 60 }),
  fc.constantFrom(
    'createdAt; DROP TABLE users;--',
    "name' OR '1'='1",
    'createdAt,createdAt',
    '-createdAt,+createdAt',
    '__proto__',
    'constructor',
    'toString',
    'password_hash',
    'id)--',
    '+',
    '-',
    ',',
    ' ',
    'createdAt,',
    ',createdAt',
    '\u0000createdAt',
    'createdAt\u0000',
    'createdAt\u202e',
    'ｃreatedAt',
  ),
);

describe('sort parser (property)', () => {
  it('reads back any list of distinct declared keys with any direction prefix', () => {
    const part = fc.record({
      key: fc.constantFrom(...sortKeys),
      prefix: fc.constantFrom('-', '+', ' ', ''),
    });
    fc.assert(
      fc.property(fc.uniqueArray(part, { selector: (p) => p.key, minLength: 1, maxLength: 4 }), (parts) => {
        const raw = parts.map((p) => p.prefix + p.key).join(',');
        const parsed = parseSort(raw, sortKeys, []);
        expect(parsed).toEqual(
          parts.map((p) => ({ key: p.key, direction: p.prefix === '-' ? 'desc' : 'asc' })),
        );
      }),
    );
  });

  it('answers anything else with a 400 naming sort, or a parse made only of declared, distinct keys', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        const result = outcome(() => parseSort(raw, sortKeys, [{ key: 'createdAt', direction: 'desc' }]));
        if ('error' in result) {
          expect(result.error.status).toBe(400);
          expect(result.error.details?.[0]?.field).toBe('sort');
          return;
        }
        const keys = result.value.map((entry) => entry.key);
        expect(new Set(keys).size).toBe(keys.length);
        for (const entry of result.value) {
          expect(sortKeys).toContain(entry.key);
          expect(['asc', 'desc']).toContain(entry.direction);
        }
      }),
    );
  });

  it('refuses a repeated key whatever its directions', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...sortKeys),
        fc.constantFrom('-', '+', ''),
        fc.constantFrom('-', '+', ''),
        (key, a, b) => {
          const result = outcome(() => parseSort(`${a}${key},${b}${key}`, sortKeys, []));
          expect('error' in result && result.error.code).toBe('VALIDATION_ERROR');
        },
      ),
    );
  });
});

describe('fields parser (property)', () => {
  it('keeps exactly the declared names asked for, plus id', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom(...fieldNames), { minLength: 1 }), (names) => {
        const fields = parseFields(names.join(','), fieldNames);
        expect(fields).toEqual(new Set([...names, 'id']));
      }),
    );
  });

  it('answers anything else with a 400 naming fields, or only declared names', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        const result = outcome(() => parseFields(raw, fieldNames));
        if ('error' in result) {
          expect(result.error.status).toBe(400);
          expect(result.error.details?.[0]?.field).toBe('fields');
          return;
        }
        if (result.value === undefined) {
          expect(raw).toBe('');
          return;
        }
        expect(result.value.has('id')).toBe(true);
        for (const name of result.value) expect(fieldNames).toContain(name);
      }),
    );
  });

  it('never lets pickFields return a property outside the chosen fields', () => {
    const item = { id: 'usr_1', email: 'a@example.com', name: 'A', role: 'member', passwordHash: 'x' };
    fc.assert(
      fc.property(fc.subarray(fieldNames, { minLength: 1 }), (names) => {
        const fields = parseFields(names.join(','), fieldNames);
        const picked = pickFields(item, fields);
        for (const key of Object.keys(picked)) expect(fields?.has(key)).toBe(true);
        expect(picked).not.toHaveProperty('passwordHash');
        expect(picked.id).toBe('usr_1');
      }),
    );
  });
});

describe('page request (property)', () => {
  const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

  it('is offset or keyset, never both, with the limit given or 20', () => {
    fc.assert(
      fc.property(
        maybe(fc.integer({ min: 1, max: 1_000_000 })),
        maybe(fc.integer({ min: 1, max: 100 })),
        maybe(fc.string({ minLength: 1 })),
        (page, limit, cursor) => {
          const result = outcome(() => pageRequest({ page, limit, cursor }));
          if (page !== undefined && cursor !== undefined) {
            expect('error' in result && result.error.details?.[0]?.field).toBe('cursor');
            return;
          }
          if ('error' in result) throw result.error;
          expect(result.value.limit).toBe(limit ?? 20);
          if (cursor !== undefined) expect(result.value).toEqual({ limit: limit ?? 20, cursor });
          else expect(result.value).toEqual({ limit: limit ?? 20, page: page ?? 1 });
        },
      ),
    );
  });
});

describe('instant filters (property)', () => {
  it('give a valid date or a 400 naming the filter, for any string', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        const result = outcome(() => parseInstant('createdAfter', raw));
        if ('error' in result) {
          expect(result.error.details?.[0]?.field).toBe('createdAfter');
          return;
        }
        expect(Number.isNaN(result.value!.getTime())).toBe(false);
      }),
    );
  });

  it('read back any date-time they were given', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1970-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }),
        (date) => {
          expect(parseInstant('createdAfter', date.toISOString())?.getTime()).toBe(date.getTime());
        },
      ),
    );
  });
});
