import { join } from 'node:path';
import { ConfigError, readInt, readString, readUrl } from '../config.ts';

type Env = Record<string, string | undefined>;

export interface MailConfig {
  /** `MAIL_URL`: an SMTP server (`smtp://host:port`, `smtps://user:pass@host:465`); unset → the folder. */
  url?: string;
  /** `MAIL_DIR`: the folder of `.eml` files when `MAIL_URL` is unset (default `DATA_DIR/mail`). */
  dir: string;
  /** `MAIL_FROM`: the sender of every mail. */
  from: string;
  /** `PUBLIC_URL`: the base of links in mails. */
  publicUrl: string;
  /** `MAIL_POLL_INTERVAL_MS`: how often the relay looks for mail due (it is woken after each write too). */
  pollIntervalMs: number;
  /** `MAIL_RETRY_MAX_MS`: the longest wait between two attempts at one mail (doubling from 1 s). */
  retryMaxMs: number;
}

export function readMailConfig(env: Env = process.env): MailConfig {
  const dataDir = readString(env, 'DATA_DIR', './data');
  const from = readString(env, 'MAIL_FROM', 'Armature <no-reply@localhost>');
  if (!/^[^\r\n<>]*<[^\s@<>]+@[^\s@<>]+>$|^[^\s@<>]+@[^\s@<>]+$/.test(from)) {
    throw new ConfigError('MAIL_FROM', `must be an address or "Name <address>", got "${from}"`);
  }
  const publicUrl = readUrl(env, 'PUBLIC_URL', ['http:', 'https:']) ?? 'http://localhost:8080';
  return {
    url: readUrl(env, 'MAIL_URL', ['smtp:', 'smtps:']),
    dir: readString(env, 'MAIL_DIR', join(dataDir, 'mail')),
    from,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    pollIntervalMs: readInt(env, 'MAIL_POLL_INTERVAL_MS', 1000, { min: 50, max: 600_000 }),
    retryMaxMs: readInt(env, 'MAIL_RETRY_MAX_MS', 300_000, { min: 100, max: 86_400_000 }),
  };
}

/** A link to `path` under `PUBLIC_URL` with `token` as its `token=` query parameter. */
export function mailLink(config: Pick<MailConfig, 'publicUrl'>, path: string, token: string): string {
  const url = new URL(`${config.publicUrl}${path}`);
  url.searchParams.set('token', token);
  return url.toString();
}
