import { describe, expect, it } from 'vitest';
import { DeadLetterAdmin, DeadLetterNotFound, ReplayFailed } from './dead-letter-admin.ts';
import type { EventEnvelope } from './envelope.ts';
import { InProcessBus } from './in-process-bus.ts';

const event: EventEnvelope = {
  id: 'evt_01h455vb4pex5vsknk084sn02q',
  type: 'user.created',
  aggregateId: 'usr_01h455vb4pex5vsknk084sn02q',
  timestamp: '2024-01-15T10:30:00Z',
  version: 1,
  data: {},
};

function setup(handle: () => Promise<'handled' | 'duplicate'>) {
  const bus = new InProcessBus();
  bus.deadLetters.push({ durable: 'orders', event, attempts: 5, error: 'boom', at: new Date() });
  const audit: object[] = [];
  const log = {
    debug() {},
    info: (details: object) => void audit.push(details),
    warn: (details: object) => void audit.push(details),
    error() {},
  };
  let calls = 0;
  const admin = new DeadLetterAdmin({
    store: bus.deadLetterStore,
    consumers: [
      {
        name: 'orders',
        handle: () => {
          calls++;
          return handle();
        },
      },
    ],
    log,
  });
  return { bus, admin, audit, calls: () => calls };
}

describe('dead letters, administered', () => {
  it('replays a dead letter once even when two admins ask at the same time, and audits who did', async () => {
    const { bus, admin, audit, calls } = setup(async () => 'handled');
    const [first, second] = await Promise.allSettled([
      admin.replay('orders.evt_01h455vb4pex5vsknk084sn02q', 'usr_admin'),
      admin.replay('orders.evt_01h455vb4pex5vsknk084sn02q', 'usr_other'),
    ]);
    expect(first).toMatchObject({ status: 'fulfilled', value: { outcome: 'handled' } });
    expect(second).toMatchObject({ status: 'rejected', reason: expect.any(DeadLetterNotFound) });
    expect(calls()).toBe(1);
    expect(bus.deadLetters).toEqual([]);
    expect(audit).toContainEqual(
      expect.objectContaining({
        audit: true,
        action: 'dead-letter.replay',
        actor: 'usr_admin',
        outcome: 'handled',
      }),
    );
  });

  it('keeps a dead letter whose replay fails, with the new error and one more attempt', async () => {
    const { admin, audit } = setup(async () => {
      throw new Error('still broken');
    });
    await expect(admin.replay('orders.evt_01h455vb4pex5vsknk084sn02q', 'usr_admin')).rejects.toBeInstanceOf(
      ReplayFailed,
    );
    const [kept] = await admin.list();
    expect(kept).toMatchObject({ attempts: 6, error: 'still broken' });
    expect(audit).toContainEqual(
      expect.objectContaining({ action: 'dead-letter.replay', outcome: 'failed' }),
    );
  });

  it('discards a dead letter for good and audits it; an unknown one is not found', async () => {
    const { admin, audit, calls } = setup(async () => 'handled');
    await admin.discard('orders.evt_01h455vb4pex5vsknk084sn02q', 'usr_admin');
    expect(await admin.list()).toEqual([]);
    expect(calls()).toBe(0);
    expect(audit).toContainEqual(
      expect.objectContaining({ audit: true, action: 'dead-letter.discard', actor: 'usr_admin' }),
    );
    await expect(admin.discard('orders.evt_01h455vb4pex5vsknk084sn02q', 'usr_admin')).rejects.toBeInstanceOf(
      DeadLetterNotFound,
    );
  });
});
