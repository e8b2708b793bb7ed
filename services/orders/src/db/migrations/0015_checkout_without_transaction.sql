-- Checkout in two statements, each its own transaction, instead of four round trips (BEGIN,
-- take_cart, place_order, COMMIT). The first reads the cart without locking it; the application
-- plans the order from what it read (domain/checkout.ts still decides what an order is); the second
-- places that plan only if the cart, the products and the customer are still as read, and changes
-- nothing otherwise (the application then reads again). take_cart and place_order stay for the
-- checkout under an Idempotency-Key, which runs in one transaction with its key.

-- A user's cart lines with their products as they are now (no locks), oldest line first, each with
-- the customers projection's status of the user (null when no event about them has arrived).
create function read_checkout_cart(p_user uuid)
returns table (
  "productId" uuid,
  name text,
  "unitAmount" bigint,
  currency text,
  stock integer,
  deleted boolean,
  quantity integer,
  "addedAt" timestamptz,
  "customerStatus" text
)
language plpgsql stable as $$
#variable_conflict use_column
begin
  return query
    select p.id, p.name, p.price_amount, p.currency::text, p.stock, p.deleted_at is not null,
           i.quantity, i.added_at::timestamptz, (select c.status from customers c where c.id = p_user)
    from cart_items i join products p on p.id = i.product_id
    where i.user_id = p_user
    order by i.added_at, i.product_id;
end
$$;

-- Places a planned order in one statement: share-locks the customer's projection row (a user.deleted
-- being applied waits for this checkout, which then has its order cancelled too), takes the cart's
-- lines (deleting them locks them: a second checkout of the same cart waits here), locks the
-- products in id order (checkouts sharing products never deadlock), takes their stock and writes the
-- order and its lines. It raises, so that the whole statement (an outbox insert beside it included)
-- changes nothing, with SQLSTATE
--   CK001 when the projection knows the customer as deleted,
--   CK002 when the cart or a product is no longer what the plan was made from (lines, quantities,
--         names, prices, currency, stock, still sold): read the cart again and plan again.
create function place_planned_order(
  p_order uuid,
  p_user uuid,
  p_total bigint,
  p_currency text,
  p_item_count integer,
  p_note text,
  p_products uuid[],
  p_quantities integer[],
  p_unit_amounts bigint[],
  p_names text[],
  p_payment_method text
)
returns setof orders
language plpgsql as $$
declare
  customer_status text;
  lines integer := cardinality(p_products);
  taken integer;
  matched integer;
  placed orders;
begin
  select c.status into customer_status from customers c where c.id = p_user for share;
  if customer_status = 'deleted' then
    raise exception 'the customer is deleted' using errcode = 'CK001';
  end if;
  with removed as (
    delete from cart_items i where i.user_id = p_user returning i.product_id, i.quantity
  )
  select count(*), count(l.product_id) into taken, matched
    from removed r
    left join unnest(p_products, p_quantities) as l (product_id, quantity)
      on l.product_id = r.product_id and l.quantity = r.quantity;
  if taken <> lines or matched <> lines then
    raise exception 'the cart changed since it was read' using errcode = 'CK002';
  end if;
  perform 1 from products p where p.id = any(p_products) order by p.id for no key update;
  update products p set stock = p.stock - l.quantity, updated_at = now()
    from unnest(p_products, p_quantities, p_unit_amounts, p_names) as l (product_id, quantity, unit_amount, name)
    where p.id = l.product_id and p.stock >= l.quantity and p.deleted_at is null
      and p.price_amount = l.unit_amount and p.name = l.name and p.currency = p_currency;
  get diagnostics taken = row_count;
  if taken <> lines then
    raise exception 'a product changed since the cart was read' using errcode = 'CK002';
  end if;
  insert into orders (id, user_id, total_amount, currency, item_count, note, payment_method, payment_status)
    values (p_order, p_user, p_total, p_currency, p_item_count, p_note, p_payment_method,
            case when p_payment_method is null then null else 'pending' end)
    returning * into placed;
  insert into order_items (order_id, line, product_id, name, unit_amount, quantity)
    select p_order, l.line, l.product_id, l.name, l.unit_amount, l.quantity
    from unnest(p_products, p_quantities, p_unit_amounts, p_names) with ordinality
      as l (product_id, quantity, unit_amount, name, line);
  return next placed;
end
$$;
-- As in 0012: one generic plan for the stock update and the cart's match (the same whatever the arrays hold).
alter function place_planned_order(uuid, uuid, bigint, text, integer, text, uuid[], integer[], bigint[], text[], text)
  set plan_cache_mode = force_generic_plan;
