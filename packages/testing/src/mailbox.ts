import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@armature/platform/events/test-support';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { mode } from './databases.ts';

/** A mail as its recipient reads it. */
export interface ReceivedMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
}

/**
 * Where the system's mail arrives in a test, read the way a user would read it: on the embedded
 * adapters from the mail folder (`MAIL_DIR`, one `.eml` per message), in the scale-out pass from a
 * real SMTP server this helper runs (`MAIL_URL`). Pass `env` to `startSystem`; `close()` in `afterAll`.
 */
export interface Mailbox {
  kind: 'folder' | 'smtp';
  env: Record<string, string>;
  /** Every mail received so far, oldest first. */
  all(): Promise<ReceivedMail[]>;
  /** Waits for the `count`-th mail to `to` with a subject matching `subject`, and returns it. */
  next(to: string, subject: RegExp, count?: number): Promise<ReceivedMail>;
  /** SMTP only: stops answering (connections are refused) until `up()`. */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startMailbox(kind: 'folder' | 'smtp' = mode === 'postgres' ? 'smtp' : 'folder') {
  return kind === 'smtp' ? smtpMailbox() : folderMailbox();
}

/** The `token=` parameter of the first link in a mail. */
export function linkToken(mail: ReceivedMail): string {
  const match = /[?&]token=([A-Za-z0-9_-]{43})\b/.exec(mail.text);
  if (!match?.[1]) throw new Error(`no link with a token in "${mail.subject}"`);
  return match[1];
}

/** Settings every mail-reading system takes: mail is looked for often, retried soon. */
const fastMail = { MAIL_POLL_INTERVAL_MS: '100', MAIL_RETRY_MAX_MS: '300' };

function toMail(parsed: Awaited<ReturnType<typeof simpleParser>>): ReceivedMail {
  const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
  return {
    to: to?.value[0]?.address ?? '',
    subject: parsed.subject ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : '',
    messageId: parsed.messageId ?? '',
  };
}

function waiter(all: () => Promise<ReceivedMail[]>) {
  return (to: string, subject: RegExp, count = 1) =>
    eventually(`mail #${count} to ${to} matching ${subject}`, async () => {
      const matching = (await all()).filter(
        (mail) => mail.to.toLowerCase() === to.toLowerCase() && subject.test(mail.subject),
      );
      return matching[count - 1];
    });
}

async function folderMailbox(): Promise<Mailbox> {
  const dir = await mkdtemp(join(tmpdir(), 'armature-mail-'));
  const all = async () => {
    const files = (await readdir(dir).catch(() => [] as string[]))
      .filter((name) => name.endsWith('.eml'))
      .sort();
    return Promise.all(
      files.map(async (name) => toMail(await simpleParser(await readFile(join(dir, name))))),
    );
  };
  const unsupported = async () => {
    throw new Error('the mail folder cannot be down');
  };
  return {
    kind: 'folder',
    env: { MAIL_DIR: dir, ...fastMail },
    all,
    next: waiter(all),
    down: unsupported,
    up: unsupported,
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function smtpMailbox(): Promise<Mailbox> {
  const received: ReceivedMail[] = [];
  const create = () =>
    new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((parsed) => {
            received.push(toMail(parsed));
            callback();
          })
          .catch(callback);
      },
    });
  let server = create();
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server.server.address() as AddressInfo).port));
    });
  const port = await listen(0);
  let running = true;
  const stop = async () => {
    if (!running) return;
    running = false;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const all = async () => [...received];
  return {
    kind: 'smtp',
    env: { MAIL_URL: `smtp://127.0.0.1:${port}`, ...fastMail },
    all,
    next: waiter(all),
    down: stop,
    async up() {
      if (running) return;
      server = create();
      await listen(port);
      running = true;
    },
    close: stop,
  };
}
