import { randomUUID } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Transporter } from 'nodemailer';
import type { MailConfig } from './config.ts';
import type { Mailer, MailMessage } from './message.ts';

/**
 * A nodemailer transport made on the first message: nodemailer is loaded then, not with the service
 * (most starts send no mail before they are ready, many never do).
 */
function onFirstUse(options: object): { get(): Promise<Transporter>; close(): void } {
  let transport: Promise<Transporter> | undefined;
  return {
    get: () => {
      transport ??= import('nodemailer').then(({ default: nodemailer }) =>
        nodemailer.createTransport(options as Parameters<typeof nodemailer.createTransport>[0]),
      );
      return transport;
    },
    close: () =>
      void transport?.then(
        (made) => made.close(),
        () => undefined,
      ),
  };
}

interface Log {
  info(details: object, message: string): void;
}

/** The `Message-ID` of a message: the same for every attempt at it. */
function messageId(message: MailMessage, from: string): string {
  const domain = /@([^\s>]+)>?$/.exec(from)?.[1] ?? 'localhost';
  return `<${message.id}@${domain}>`;
}

function envelope(message: MailMessage, from: string) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    messageId: messageId(message, from),
  };
}

/** Delivers through an SMTP server (`MAIL_URL`) with nodemailer; one connection per message. */
export function smtpMailer(config: Pick<MailConfig, 'url' | 'from'>): Mailer {
  if (!config.url) throw new Error('smtpMailer needs MAIL_URL');
  const transport = onFirstUse({
    url: config.url,
    // A server that is down must fail an attempt quickly: the relay retries it later.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    kind: 'smtp',
    async send(message) {
      await (await transport.get()).sendMail(envelope(message, config.from));
    },
    async close() {
      transport.close();
    },
  };
}

/**
 * Writes each message as an `.eml` file (RFC 5322, as nodemailer would send it) into a folder, and
 * logs one line naming the file (never the link: links carry tokens, and tokens stay out of logs).
 * The default, so that a development start needs no mail server: open the file to follow the link.
 */
export function folderMailer(config: Pick<MailConfig, 'dir' | 'from'>, log?: Log): Mailer {
  const transport = onFirstUse({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    kind: 'folder',
    async send(message) {
      const info = (await (await transport.get()).sendMail(envelope(message, config.from))) as {
        message: Buffer;
      };
      await mkdir(config.dir, { recursive: true });
      const file = join(config.dir, `${new Date().toISOString().replaceAll(':', '-')}-${message.id}.eml`);
      // Written whole, then renamed: a reader never sees half a message.
      const partial = `${file}.${randomUUID()}.part`;
      await writeFile(partial, info.message, { mode: 0o600 });
      await rename(partial, file);
      log?.info({ to: message.to, subject: message.subject, file }, 'mail written to the mail folder');
    },
    async close() {
      transport.close();
    },
  };
}

/** The SMTP adapter when `MAIL_URL` is set, else the mail folder. */
export function createMailer(config: MailConfig, log?: Log): Mailer {
  return config.url ? smtpMailer(config) : folderMailer(config, log);
}
