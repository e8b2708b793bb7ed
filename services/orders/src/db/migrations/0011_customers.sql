-- The customers projection: what this service knows of the users service's users, kept current by
-- its `user.*` events (never written by a request). Checkout falls back to it when the users service
-- cannot answer. `version` is the user's version of the last event applied: an older event arriving
-- late changes nothing. Email and name are unknown when a deletion arrives before the creation.
create table customers (
  id uuid primary key,
  email text,
  name text,
  status text not null check (status in ('active', 'deleted')),
  version integer not null,
  updated_at timestamptz(3) not null default now()
);
