import { eventTypes as contractTypes } from '@armature/contracts/events';
import { describe, expect, it } from 'vitest';
import { eventTypes } from './event-types.ts';

describe('the console’s event type filter', () => {
  it('offers exactly the event types of the contract', () => {
    expect([...eventTypes].sort()).toEqual([...contractTypes].sort());
  });
});
