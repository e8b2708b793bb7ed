import fc from 'fast-check';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { parseTimestamptz } from './database.ts';

/** pg's own parser (postgres-date): the reference. */
const reference = pg.types.getTypeParser(1184) as (text: string) => Date;

const pad = (value: number, width: number) => String(value).padStart(width, '0');

describe('timestamptz as PostgreSQL writes it', () => {
  it('reads what the generic parser reads, to the millisecond', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9999 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        fc.option(fc.stringMatching(/^[0-9]{1,6}$/)),
        fc.constantFrom('+', '-'),
        fc.integer({ min: 0, max: 15 }),
        fc.option(fc.constantFrom(0, 30, 45)),
        (year, month, day, hour, minute, second, fraction, sign, offsetHours, offsetMinutes) => {
          const text =
            `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}` +
            `${fraction === null ? '' : `.${fraction}`}${sign}${pad(offsetHours, 2)}` +
            `${offsetMinutes === null ? '' : `:${pad(offsetMinutes, 2)}`}`;
          expect(parseTimestamptz(text).getTime()).toBe(reference(text).getTime());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('leaves the rare forms to the generic parser', () => {
    for (const text of ['infinity', '-infinity', '2024-01-15 10:30:00+00 BC', '12024-01-15 10:30:00+00']) {
      expect(String(parseTimestamptz(text))).toBe(String(reference(text)));
    }
    expect(parseTimestamptz('2024-01-15 10:30:00.123+00').toISOString()).toBe('2024-01-15T10:30:00.123Z');
  });
});
