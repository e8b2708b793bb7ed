-- API keys (personal access tokens): a user's machine clients. Only the SHA-256 of each secret is
-- stored (the secret is 256 random bits: nothing to brute-force). A rotation moves the current hash
-- to `previous_hash`, which keeps working until `previous_expires_at`. A deleted user's keys go with
-- the user: the exchange reads only keys of active users.
create table api_keys (
  id                   uuid primary key,
  user_id              uuid not null references users (id) on delete cascade,
  name                 text not null,
  prefix               text not null,
  key_hash             char(64) not null unique,
  previous_hash        char(64) unique,
  previous_expires_at  timestamptz(3),
  scopes               text[] not null,
  plan                 text not null,
  expires_at           timestamptz(3),
  last_used_at         timestamptz(3),
  revoked_at           timestamptz(3),
  created_at           timestamptz(3) not null default now(),
  updated_at           timestamptz(3) not null default now()
);
create index api_keys_user_idx on api_keys (user_id, id desc) where revoked_at is null;
