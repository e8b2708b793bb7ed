-- The orders service's own tables: the catalog, one cart per user, orders with their captured lines,
-- and the responses of idempotent requests. Users are known only by the UUID behind their `usr_` id.
-- Money is integer minor units plus an ISO 4217 currency. Timestamps keep milliseconds (not
-- microseconds) so a keyset cursor carrying one round-trips exactly through a JavaScript Date.

create table products (
  id uuid primary key,
  name text not null check (length(name) between 1 and 200),
  description text not null default '',
  price_amount bigint not null check (price_amount >= 0),
  currency char(3) not null,
  stock integer not null check (stock >= 0),
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  deleted_at timestamptz(3)
);

-- One index per catalog sort, over live products only; the id breaks ties for keyset pages.
create index products_by_name on products (name, id) where deleted_at is null;
create index products_by_price on products (price_amount, id) where deleted_at is null;
create index products_by_created on products (created_at, id) where deleted_at is null;

create table carts (
  user_id uuid primary key,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);

create table cart_items (
  user_id uuid not null references carts (user_id) on delete cascade,
  product_id uuid not null references products (id),
  quantity integer not null check (quantity between 1 and 1000),
  added_at timestamptz(3) not null default now(),
  primary key (user_id, product_id)
);

create table orders (
  id uuid primary key,
  user_id uuid not null,
  status text not null default 'pending'
    check (status in ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
  total_amount bigint not null check (total_amount >= 0),
  currency char(3) not null,
  item_count integer not null check (item_count > 0),
  note text,
  version integer not null default 1,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now()
);

-- A user's history and the admin's list, each sortable by creation time or total (scanned in either
-- direction), with the id as the keyset tie-breaker; status filters ride on the creation-time order.
create index orders_by_user_created on orders (user_id, created_at, id);
create index orders_by_user_total on orders (user_id, total_amount, id);
create index orders_by_created on orders (created_at, id);
create index orders_by_total on orders (total_amount, id);
create index orders_by_status_created on orders (status, created_at, id);

create table order_items (
  order_id uuid not null references orders (id) on delete cascade,
  line integer not null check (line > 0),
  product_id uuid not null references products (id),
  name text not null,
  unit_amount bigint not null check (unit_amount >= 0),
  quantity integer not null check (quantity > 0),
  primary key (order_id, line)
);

-- The first response to a POST sent with an `Idempotency-Key`, per user and key. A retry with the
-- same request fingerprint gets it back; another request under the same key is refused.
create table idempotency_keys (
  user_id uuid not null,
  key text not null,
  fingerprint text not null,
  status_code smallint,
  response jsonb,
  created_at timestamptz(3) not null default now(),
  primary key (user_id, key)
);

create index idempotency_keys_by_created on idempotency_keys (created_at);
