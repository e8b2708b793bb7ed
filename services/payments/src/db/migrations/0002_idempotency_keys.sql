-- Idempotency-Key on creates: the first response under each key, replayed to retries.
-- `caller` is the user id of the caller, or '' for anonymous callers (who share one key space).
create table idempotency_keys (
  caller      text not null,
  key         text not null,
  fingerprint text not null,
  response    jsonb,
  created_at  timestamptz(3) not null default now(),
  primary key (caller, key)
);

create index idempotency_keys_created_idx on idempotency_keys (created_at);
