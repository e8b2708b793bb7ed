-- Two-factor sign-in (TOTP, RFC 6238): each user's secret, their one-time recovery codes, and the
-- short-lived challenges between the password step and the code step of a sign-in.

-- The secret is sealed like the signing keys (AES-256-GCM under JWT_KEY_ENCRYPTION_SECRET, when set).
-- Until `confirmed_at` is set it is an enrolment in progress and sign-in ignores it.
-- `last_used_step` is the 30-second step of the last code accepted: a code is never accepted twice.
create table mfa_factors (
  user_id         uuid primary key references users (id) on delete cascade,
  secret          text not null,
  confirmed_at    timestamptz(3),
  last_used_step  bigint not null default 0,
  created_at      timestamptz(3) not null default now()
);

-- Recovery codes: 80 random bits each, only their SHA-256 stored; each works once.
create table mfa_recovery_codes (
  code_hash  char(64) primary key,
  user_id    uuid not null references users (id) on delete cascade,
  used_at    timestamptz(3)
);
create index mfa_recovery_codes_user_idx on mfa_recovery_codes (user_id);

-- A right password of a user with two-factor sign-in on yields a challenge (only its hash stored),
-- to be completed with a code before `expires_at`, with at most a few wrong codes.
create table mfa_challenges (
  token_hash  char(64) primary key,
  user_id     uuid not null references users (id) on delete cascade,
  expires_at  timestamptz(3) not null,
  failures    integer not null default 0,
  used_at     timestamptz(3),
  user_agent  varchar(512),
  address     varchar(64),
  created_at  timestamptz(3) not null default now()
);
create index mfa_challenges_expires_idx on mfa_challenges (expires_at);
