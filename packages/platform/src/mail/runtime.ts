import type { App } from '../server.ts';
import type { MailConfig } from './config.ts';
import type { Mailer } from './message.ts';
import type { WithMail } from './outbox.ts';
import { MailRelay } from './relay.ts';
import { createMailer } from './transports.ts';

export interface Mail {
  mailer: Mailer;
  relay: MailRelay;
}

/**
 * Wires a service's outgoing mail into its server: the mailer (`MAIL_URL` → SMTP, else the mail
 * folder), the relay delivering its `mail_outbox` (woken after every write request, polling as a
 * safety net), and shutdown. A mail server that is down delays mail; the service keeps serving.
 */
export function startMail(app: App, options: { db: WithMail; config: MailConfig }): Mail {
  const log = app.log.child({ component: 'mail' });
  const mailer = createMailer(options.config, log);
  const relay = new MailRelay({
    db: options.db,
    mailer,
    log,
    pollIntervalMs: options.config.pollIntervalMs,
    retryMaxMs: options.config.retryMaxMs,
  });
  app.addHook('onResponse', async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') relay.wake();
  });
  // onClose hooks run in reverse order of registration: this runs before the database closes.
  app.addHook('onClose', async () => {
    await relay.stop();
    await mailer.close();
  });
  relay.start();
  log.info(
    { transport: mailer.kind, ...(mailer.kind === 'folder' ? { dir: options.config.dir } : {}) },
    'mail ready',
  );
  return { mailer, relay };
}
