/** One mail to one recipient, with a plain-text and an HTML body. */
export interface MailMessage {
  /** A UUID: the message's `Message-ID` is built from it, so a resent copy can be recognised. */
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** The port: where mail goes (an SMTP server, or a folder of `.eml` files). */
export interface Mailer {
  readonly kind: 'smtp' | 'folder';
  /** Delivers one message, or throws (the relay retries later). */
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}
