import { readFileSync } from 'node:fs';
import { serviceNames } from '@armature/contracts/services';
import { eventsMigrationFile } from '@armature/platform/events/index';
import { describe, expect, it } from 'vitest';

/**
 * Each service owns its migrations, so the outbox and inbox tables reach a service's database as its
 * own copy of the platform's `0010_events.sql`. The outbox relay and the consumers are written
 * against that one file: a copy that drifted would break them only at run time.
 */
describe('the events migration of each service', () => {
  const original = readFileSync(eventsMigrationFile, 'utf8');
  it.each(serviceNames)('is the platform’s file, unchanged (%s)', (service) => {
    const copy = readFileSync(
      new URL(`../services/${service}/src/db/migrations/0010_events.sql`, import.meta.url),
      'utf8',
    );
    expect(copy).toBe(original);
  });
});
