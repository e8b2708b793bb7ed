import type { Database } from '@armature/platform';
import { type Mailer, type MailMessage, MailRelay, queueMail } from '@armature/platform/mail/index';
import { freshStore, mode, type TestStore } from '@armature/testing/databases';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../packages/platform/src/events/test-support.ts';
import { openUsersDatabase } from './database.ts';
import type { UsersDatabase } from './schema.ts';

/** A mailer that fails while `down` is set, and records what it delivered. */
function fakeMailer() {
  const delivered: MailMessage[] = [];
  const state = { down: false, attempts: 0 };
  const mailer: Mailer = {
    kind: 'smtp',
    async send(message) {
      state.attempts++;
      if (state.down) throw new Error('connect ECONNREFUSED 127.0.0.1:25');
      delivered.push(message);
    },
    async close() {},
  };
  return { mailer, delivered, state };
}

let store: TestStore;
let database: Database<UsersDatabase>;

beforeAll(async () => {
  store = await freshStore('mail-outbox');
  database = await openUsersDatabase({ url: store.url, dataDir: store.dataDir });
});

afterAll(async () => {
  await database?.close();
  await store?.drop();
});

const queued = async () => (await database.db.selectFrom('mail_outbox').selectAll().execute()).length;

describe(`the mail outbox (${mode})`, () => {
  it('keeps a message whose transaction rolled back out of the outbox', async () => {
    await database.db
      .transaction()
      .execute(async (trx) => {
        await queueMail(trx, {
          to: 'nobody@example.com',
          subject: 'never',
          text: 'never',
          html: '<p>never</p>',
        });
        throw new Error('the change failed');
      })
      .catch(() => undefined);
    expect(await queued()).toBe(0);
  });

  it('keeps mail while delivery fails, then delivers each message once and forgets it', async () => {
    const { mailer, delivered, state } = fakeMailer();
    state.down = true;
    const relays = [0, 1].map(
      () => new MailRelay({ db: database.db, mailer, pollIntervalMs: 20, retryBaseMs: 20, retryMaxMs: 40 }),
    );
    for (const relay of relays) relay.start();
    try {
      for (const to of ['a@example.com', 'b@example.com', 'c@example.com']) {
        await queueMail(database.db, { to, subject: 'Hello', text: `Hello ${to}`, html: `<p>${to}</p>` });
      }
      await eventually('retried deliveries', () => state.attempts >= 6);
      expect(delivered).toHaveLength(0);
      const rows = await database.db.selectFrom('mail_outbox').select(['attempts', 'last_error']).execute();
      expect(rows).toHaveLength(3);
      expect(rows.every((row) => row.last_error?.includes('ECONNREFUSED'))).toBe(true);

      state.down = false;
      await eventually('an empty outbox', async () => (await queued()) === 0);
      expect(delivered.map((message) => message.to).sort()).toEqual([
        'a@example.com',
        'b@example.com',
        'c@example.com',
      ]);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop()));
    }
  });
});
