-- One payment per order checked out with a payment method. `status` follows the provider; what the
-- order asks of it comes from the orders service's events (`order_paid`, `order_cancelled`), and
-- the payment worker brings the two together (authorize, capture, void, refund), each provider call
-- under an idempotency key derived from the payment, so a retried call never charges twice.
create table payments (
  id                  uuid primary key,
  order_id            uuid not null unique,
  user_id             uuid not null,
  amount              bigint not null check (amount >= 0),
  currency            text not null,
  method              text not null,
  status              text not null default 'pending',
  provider_payment_id text,
  failure_reason      text,
  refunded_amount     bigint not null default 0,
  order_paid          boolean not null default false,
  order_cancelled     boolean not null default false,
  attempts            integer not null default 0,
  next_attempt_at     timestamptz(3) not null default now(),
  version             integer not null default 1,
  created_at          timestamptz(3) not null default now(),
  updated_at          timestamptz(3) not null default now()
);

create index payments_provider_idx on payments (provider_payment_id);
create index payments_user_created_idx on payments (user_id, created_at, id);
create index payments_created_idx on payments (created_at, id);
-- What the worker still has to do, soonest first.
create index payments_due_idx on payments (next_attempt_at)
  where status = 'pending'
     or (status in ('requires_action', 'authorized', 'captured') and order_cancelled)
     or (status = 'authorized' and order_paid);

-- Every call to the provider: which, under which idempotency key, and what came of it.
create table payment_attempts (
  id              uuid primary key,
  payment_id      uuid not null references payments (id),
  operation       text not null,
  idempotency_key text not null,
  outcome         text not null,
  created_at      timestamptz(3) not null default now()
);
create index payment_attempts_payment_idx on payment_attempts (payment_id, created_at);

create table refunds (
  id                 uuid primary key,
  payment_id         uuid not null unique references payments (id),
  amount             bigint not null,
  provider_refund_id text not null,
  created_at         timestamptz(3) not null default now()
);

-- Orders cancelled before their payment was known here (events out of order): the payment is born voided.
create table order_cancellations (
  order_id   uuid primary key,
  created_at timestamptz(3) not null default now()
);

-- Provider events already received: a replayed webhook is refused.
create table webhook_events (
  id          text primary key,
  received_at timestamptz(3) not null default now()
);
