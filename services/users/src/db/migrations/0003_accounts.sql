-- Accounts: where each login came from, single-use tokens sent by mail, and the mail waiting to go.

-- A session (a refresh-token family) shows its owner the client that logged in; each refresh copies
-- these to the new token. Ending a session, a password change and a reset revoke families too.
alter table sessions
  add column user_agent varchar(512),
  add column address varchar(64);
alter table sessions drop constraint sessions_revoked_reason_check;
alter table sessions add constraint sessions_revoked_reason_check check (revoked_reason in (
  'logout', 'reuse', 'user_deleted', 'ended', 'password_changed', 'password_reset'));

-- Tokens of password-reset and verification links. Only a SHA-256 of the token is stored (it is 256
-- random bits); `email` is the address the mail went to: a verification token only verifies that one.
create table account_tokens (
  token_hash  char(64) primary key,
  purpose     text not null check (purpose in ('password_reset', 'email_verification')),
  user_id     uuid not null references users (id) on delete cascade,
  email       varchar(254) not null,
  expires_at  timestamptz(3) not null,
  used_at     timestamptz(3),
  created_at  timestamptz(3) not null default now()
);
create index account_tokens_user_idx on account_tokens (user_id, purpose);
create index account_tokens_expires_idx on account_tokens (expires_at);

-- Mail waiting for delivery, written in the transaction of the change that causes it; the relay
-- deletes a row once its message is delivered, and pushes `next_attempt_at` back after a failure.
create table mail_outbox (
  id               uuid primary key,
  recipient        varchar(254) not null,
  subject          text not null,
  text_body        text not null,
  html_body        text not null,
  attempts         integer not null default 0,
  next_attempt_at  timestamptz(3) not null default now(),
  last_error       text,
  created_at       timestamptz(3) not null default now()
);
create index mail_outbox_due on mail_outbox (next_attempt_at);
