/** The mails the users service sends: subject, plain text and HTML, from the facts they need. */

export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

const escapes: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** HTML-escapes text (a user's name may hold any visible character). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => escapes[character] ?? character);
}

function page(paragraphs: string[], link: { href: string; label: string }): string {
  const body = paragraphs.map((paragraph) => `<p>${escapeHtml(paragraph)}</p>`).join('\n');
  const href = escapeHtml(link.href);
  return `<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
${body}
<p><a href="${href}">${escapeHtml(link.label)}</a></p>
<p style="color: #666; font-size: 0.9em">Or copy this address into your browser: ${href}</p>
</body></html>
`;
}

function minutes(seconds: number): string {
  const value = Math.round(seconds / 60);
  return value >= 120 && value % 60 === 0 ? `${value / 60} hours` : `${value} minutes`;
}

export function passwordResetMail(input: { name: string; link: string; ttlSeconds: number }): MailContent {
  const lines = [
    `Hello ${input.name},`,
    `Someone asked to reset the password of your account. To choose a new password, open the link below within ${minutes(input.ttlSeconds)}. It works once.`,
    'If you did not ask for this, ignore this mail: your password stays as it is.',
  ];
  return {
    subject: 'Reset your password',
    text: `${lines.join('\n\n')}\n\n${input.link}\n`,
    html: page(lines, { href: input.link, label: 'Choose a new password' }),
  };
}

export function emailVerificationMail(input: {
  name: string;
  link: string;
  ttlSeconds: number;
}): MailContent {
  const lines = [
    `Hello ${input.name},`,
    `Please confirm that this is your email address by opening the link below within ${minutes(input.ttlSeconds)}.`,
    'If you did not register or change your address, ignore this mail.',
  ];
  return {
    subject: 'Confirm your email address',
    text: `${lines.join('\n\n')}\n\n${input.link}\n`,
    html: page(lines, { href: input.link, label: 'Confirm my email address' }),
  };
}
