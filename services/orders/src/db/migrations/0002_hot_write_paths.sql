-- The hot write paths: setting a cart line and checking out.

-- Stock and cart timestamps change on every checkout and cart write. Leaving room on each page lets
-- PostgreSQL update those rows in place (HOT updates: no new index entries, less bloat).
alter table products set (fillfactor = 70);
alter table carts set (fillfactor = 70);

-- A user's orders are few enough to sort by total in memory; one index less to write per checkout.
drop index orders_by_user_total;

-- The statements themselves as PL/pgSQL functions. PL/pgSQL keeps each statement's plan for the life
-- of the connection, so these are parsed and planned once instead of on every request, and each is
-- one round trip. The rules stay in the application (domain/checkout.ts decides what an order is);
-- these functions only read and write.

-- A user's cart with each line's current product, oldest line first; makes the cart if the user has
-- none, so there is always at least one row (with the cart's timestamps, and null product columns
-- when the cart is empty).
create function read_cart(p_user uuid)
returns table (
  "createdAt" timestamptz,
  "updatedAt" timestamptz,
  "productId" uuid,
  name text,
  "unitAmount" bigint,
  currency text,
  quantity integer,
  stock integer,
  deleted boolean
)
language plpgsql as $$
#variable_conflict use_column
begin
  insert into carts (user_id) values (p_user) on conflict (user_id) do nothing;
  return query
    select c.created_at::timestamptz, c.updated_at::timestamptz, i.product_id, p.name, p.price_amount,
           p.currency::text, i.quantity, p.stock, p.deleted_at is not null
    from carts c
    left join cart_items i on i.user_id = c.user_id
    left join products p on p.id = i.product_id
    where c.user_id = p_user
    order by i.added_at, i.product_id;
end
$$;

-- Sets how many units of a live product the cart holds (0 takes the line out) and returns the cart
-- as read_cart does; returns no rows when the product is unknown or no longer sold.
create function set_cart_item(p_user uuid, p_product uuid, p_quantity integer)
returns table (
  "createdAt" timestamptz,
  "updatedAt" timestamptz,
  "productId" uuid,
  name text,
  "unitAmount" bigint,
  currency text,
  quantity integer,
  stock integer,
  deleted boolean
)
language plpgsql as $$
#variable_conflict use_column
begin
  perform 1 from products where id = p_product and deleted_at is null;
  if not found then
    return;
  end if;
  insert into carts (user_id) values (p_user)
    on conflict (user_id) do update set updated_at = now();
  if p_quantity = 0 then
    delete from cart_items where user_id = p_user and product_id = p_product;
  else
    insert into cart_items (user_id, product_id, quantity) values (p_user, p_product, p_quantity)
      on conflict (user_id, product_id) do update set quantity = excluded.quantity;
  end if;
  return query select * from read_cart(p_user);
end
$$;

-- Checkout, first half: takes the lines out of the user's cart and returns them with their products,
-- locked. Deleting the lines locks them, so a second checkout of the same cart waits here and then
-- finds nothing; products are locked in id order, so checkouts sharing products never deadlock, and
-- `no key update` still lets other carts reference them meanwhile. A refused checkout rolls back.
create function take_cart(p_user uuid)
returns table (
  "productId" uuid,
  name text,
  "unitAmount" bigint,
  currency text,
  stock integer,
  deleted boolean,
  quantity integer,
  "addedAt" timestamptz
)
language plpgsql as $$
#variable_conflict use_column
begin
  return query
    with taken as (
      delete from cart_items where user_id = p_user returning product_id, quantity, added_at
    )
    select p.id, p.name, p.price_amount, p.currency::text, p.stock, p.deleted_at is not null,
           taken.quantity, taken.added_at::timestamptz
    from taken join products p on p.id = taken.product_id
    order by p.id
    for no key update of p;
end
$$;

-- Checkout, second half: takes the stock of every line (guarded, though take_cart's locks already
-- ensure it), writes the order and its lines with the captured unit prices, and returns the order.
create function place_order(
  p_order uuid,
  p_user uuid,
  p_total bigint,
  p_currency text,
  p_item_count integer,
  p_note text,
  p_products uuid[],
  p_quantities integer[],
  p_unit_amounts bigint[],
  p_names text[]
)
returns setof orders
language plpgsql as $$
declare
  taken integer;
  placed orders;
begin
  update products p set stock = p.stock - l.quantity, updated_at = now()
    from unnest(p_products, p_quantities) as l (product_id, quantity)
    where p.id = l.product_id and p.stock >= l.quantity;
  get diagnostics taken = row_count;
  if taken <> cardinality(p_products) then
    raise exception 'stock changed while its rows were locked';
  end if;
  insert into orders (id, user_id, total_amount, currency, item_count, note)
    values (p_order, p_user, p_total, p_currency, p_item_count, p_note)
    returning * into placed;
  insert into order_items (order_id, line, product_id, name, unit_amount, quantity)
    select p_order, l.line, l.product_id, l.name, l.unit_amount, l.quantity
    from unnest(p_products, p_quantities, p_unit_amounts, p_names) with ordinality
      as l (product_id, quantity, unit_amount, name, line);
  return next placed;
end
$$;
