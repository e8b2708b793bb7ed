-- Users, their refresh-token sessions and the keys that sign access tokens.
-- Timestamps are timestamptz(3): millisecond precision, exactly what a JS Date holds, so a keyset
-- cursor built from a row compares equal to that row when it comes back.

create table users (
  id                uuid primary key,
  email             varchar(254) not null,
  email_verified_at timestamptz(3),
  password_hash     text not null,
  name              varchar(100) not null,
  role              text not null default 'member' check (role in ('member', 'admin')),
  version           integer not null default 1 check (version >= 1),
  created_at        timestamptz(3) not null default now(),
  updated_at        timestamptz(3) not null default now(),
  deleted_at        timestamptz(3)
);

-- Unique among active users, compared without case: a deleted user's email may register again.
create unique index users_email_active_key on users (lower(email)) where deleted_at is null;
-- The list's sort orders, each ending in the id so keyset pages are exact.
create index users_created_at_idx on users (created_at, id) where deleted_at is null;
create index users_name_idx on users (name, id) where deleted_at is null;
create index users_email_idx on users (email, id) where deleted_at is null;

-- Every read of a user goes through this view, so a soft-deleted user can't leak into one.
create view active_users as
  select id, email, email_verified_at, password_hash, name, role, version, created_at, updated_at
  from users
  where deleted_at is null;

-- Refresh tokens. Only a SHA-256 of the token is stored; the token itself is shown once.
-- A login starts a family; each refresh retires its token (rotated_at, replaced_by) and adds the next.
-- Presenting a retired token again means it leaked: the whole family is revoked.
create table sessions (
  jti          uuid primary key,
  user_id      uuid not null references users (id) on delete cascade,
  family_id    uuid not null,
  token_hash   char(64) not null unique,
  expires_at   timestamptz(3) not null,
  created_at   timestamptz(3) not null default now(),
  rotated_at   timestamptz(3),
  replaced_by  uuid references sessions (jti) on delete set null,
  revoked_at   timestamptz(3),
  revoked_reason text check (revoked_reason in ('logout', 'reuse', 'user_deleted'))
);

create index sessions_user_idx on sessions (user_id);
create index sessions_expires_idx on sessions (expires_at);
create index sessions_family_idx on sessions (family_id);

-- Ed25519 keys that sign access tokens, shared by every instance of the service.
-- One active key (retired_at is null) signs; a retired key keeps verifying until tokens it signed
-- have expired. private_key is PKCS#8 PEM, or an AES-256-GCM envelope when
-- JWT_KEY_ENCRYPTION_SECRET is set.
create table signing_keys (
  kid         text primary key,
  algorithm   text not null default 'EdDSA' check (algorithm = 'EdDSA'),
  public_jwk  jsonb not null,
  private_key text not null,
  created_at  timestamptz(3) not null default now(),
  retired_at  timestamptz(3)
);

create unique index signing_keys_one_active on signing_keys ((true)) where retired_at is null;
