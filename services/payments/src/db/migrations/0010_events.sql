-- Domain events: the transactional outbox (events written in the same transaction as the change
-- they describe, then published by the relay) and the inbox (ids of events this service has handled,
-- so a redelivered event has no second effect). Every service that publishes or consumes events
-- adds this file, unchanged, as its own migration `0010_events.sql`.
--
-- Writing an event must stay cheap (it rides on every checkout): one row, three small indexes, the
-- payload as `json` (kept as text, no binary conversion), no unique index on the event id (a UUIDv7,
-- unique by construction).

create table outbox (
  -- Publication order. Identity values are taken at insert; a transaction that inserts later may
  -- commit sooner, so the relay never skips past an unpublished row: it reads every row not yet
  -- published, in this order.
  seq bigint generated always as identity primary key,
  id uuid not null,
  type text not null,
  -- The public id of the entity that changed (`usr_…`, `ord_…`).
  aggregate_id text not null,
  version smallint not null default 1,
  traceparent text,
  data json not null,
  occurred_at timestamptz(3) not null default now(),
  published_at timestamptz(3)
);

-- The relay's queue: only rows not yet published, so it stays small whatever the history.
create index outbox_unpublished on outbox (seq) where published_at is null;
-- `GET /events?aggregateId=`: one entity's history, newest first.
create index outbox_by_aggregate on outbox (aggregate_id, seq);

create table inbox (
  -- A UUIDv7, ordered by time: entries past their retention are pruned by a range on the key.
  event_id uuid not null,
  -- The durable consumer that handled it (one service may run several).
  consumer text not null,
  event_type text not null,
  handled_at timestamptz(3) not null default now(),
  primary key (event_id, consumer)
);
