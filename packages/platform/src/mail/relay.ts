import { type Kysely, sql } from 'kysely';
import type { Mailer, MailMessage } from './message.ts';
import type { MailTables, WithMail } from './outbox.ts';

interface Log {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
}

export interface MailRelayOptions {
  db: WithMail;
  mailer: Mailer;
  log?: Log;
  pollIntervalMs?: number;
  /** First wait after a failed attempt at a message, doubled on each further failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How long a claimed message is left alone by other instances while it is being sent. */
  leaseMs?: number;
  batchSize?: number;
}

/**
 * Delivers the `mail_outbox`: claims due rows, sends each through the mailer, deletes it once sent.
 * A failed attempt (a mail server that is down) leaves the row with its next attempt pushed back
 * exponentially; nothing is lost, and the outbox drains when the server returns.
 *
 * Claiming moves a row's `next_attempt_at` a lease ahead in one statement (`for update skip locked`),
 * so instances sharing one database never send one row at the same time, and no transaction stays
 * open while a message is on the wire (PGlite has one connection). A process that dies between
 * sending and deleting sends that one message again when the lease runs out; its `Message-ID` is the
 * same, so a mail client shows it once.
 */
export class MailRelay {
  readonly #db: Kysely<MailTables>;
  readonly #mailer: Mailer;
  readonly #log?: Log;
  readonly #pollIntervalMs: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #leaseMs: number;
  readonly #batchSize: number;
  #timer?: NodeJS.Timeout;
  #running?: Promise<void>;
  #wanted = false;
  #stopped = false;
  #failing = false;

  constructor(options: MailRelayOptions) {
    this.#db = options.db as unknown as Kysely<MailTables>;
    this.#mailer = options.mailer;
    this.#log = options.log;
    this.#pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.#retryBaseMs = Math.min(options.retryBaseMs ?? 1000, options.retryMaxMs ?? 300_000);
    this.#retryMaxMs = options.retryMaxMs ?? 300_000;
    this.#leaseMs = options.leaseMs ?? 120_000;
    this.#batchSize = options.batchSize ?? 20;
  }

  start(): void {
    this.#timer = setInterval(() => this.wake(), this.#pollIntervalMs).unref();
    this.wake();
  }

  /** Something may have been queued: look now (calls coalesce). */
  wake(): void {
    if (this.#stopped) return;
    this.#wanted = true;
    if (this.#running) return;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#running;
  }

  /** Messages not yet delivered (for health and tests). */
  async backlog(): Promise<number> {
    const row = await this.#db
      .selectFrom('mail_outbox')
      .select(sql<number>`count(*)::int`.as('count'))
      .executeTakeFirstOrThrow();
    return row.count;
  }

  async #loop(): Promise<void> {
    while (this.#wanted && !this.#stopped) {
      this.#wanted = false;
      try {
        const claimed = await this.#claim();
        for (const message of claimed) await this.#deliver(message);
        if (claimed.length === this.#batchSize) this.#wanted = true;
      } catch (error) {
        this.#log?.warn({ err: error }, 'mail relay could not read its outbox; will try again');
      }
    }
  }

  async #claim(): Promise<Array<MailMessage & { attempts: number }>> {
    const { rows } = await sql<{
      id: string;
      recipient: string;
      subject: string;
      text_body: string;
      html_body: string;
      attempts: number;
    }>`
      update mail_outbox
      set next_attempt_at = now() + make_interval(secs => ${this.#leaseMs / 1000}), attempts = attempts + 1
      where id in (
        select id from mail_outbox where next_attempt_at <= now()
        order by created_at limit ${this.#batchSize} for update skip locked
      )
      returning id, recipient, subject, text_body, html_body, attempts`.execute(this.#db);
    return rows.map((row) => ({
      id: row.id,
      to: row.recipient,
      subject: row.subject,
      text: row.text_body,
      html: row.html_body,
      attempts: row.attempts,
    }));
  }

  async #deliver(message: MailMessage & { attempts: number }): Promise<void> {
    try {
      await this.#mailer.send(message);
    } catch (error) {
      const delay = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** (message.attempts - 1));
      const reason = error instanceof Error ? error.message : String(error);
      if (!this.#failing || message.attempts === 1) {
        this.#log?.warn(
          { err: error, mailId: message.id, attempts: message.attempts, retryInMs: delay },
          'mail could not be delivered; it stays queued',
        );
      }
      this.#failing = true;
      await this.#db
        .updateTable('mail_outbox')
        .set({
          next_attempt_at: sql<Date>`now() + make_interval(secs => ${delay / 1000})`,
          last_error: reason.slice(0, 500),
        })
        .where('id', '=', message.id)
        .execute();
      return;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#log?.info({ mailId: message.id }, 'mail is being delivered again');
    }
    await this.#db.deleteFrom('mail_outbox').where('id', '=', message.id).execute();
  }
}
