import type { ColumnType, Kysely, Transaction } from 'kysely';
import { newUuid } from '../ids.ts';
import type { MailMessage } from './message.ts';

/**
 * Kysely type of a service's `mail_outbox` table: mail waiting to be delivered. A row is written in
 * the transaction of the change that causes it and deleted once the mail is delivered, so a body
 * (which may hold a single-use link) stays in the database only until then.
 */
export interface MailOutboxTable {
  id: string;
  recipient: string;
  subject: string;
  text_body: string;
  html_body: string;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_error: string | null;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface MailTables {
  mail_outbox: MailOutboxTable;
}

// biome-ignore lint/suspicious/noExplicitAny: a service's schema is any record that includes MailTables.
type WithMail<DB = any> = Kysely<DB> | Transaction<DB>;

/** Queues a mail in the caller's transaction: it exists exactly when the change that causes it commits. */
export async function queueMail(trx: WithMail, message: Omit<MailMessage, 'id'>): Promise<string> {
  const id = newUuid();
  await (trx as unknown as Kysely<MailTables>)
    .insertInto('mail_outbox')
    .values({
      id,
      recipient: message.to,
      subject: message.subject,
      text_body: message.text,
      html_body: message.html,
    })
    .execute();
  return id;
}

export type { WithMail };
