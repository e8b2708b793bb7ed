-- The order's side of the payment saga: the method the customer chose at checkout, the payment's
-- state as the payments service reported it (events), and why a cancelled order was cancelled.
alter table orders
  add column payment_method text,
  add column payment_status text,
  add column payment_failure_reason text,
  add column cancel_reason text;

-- Orders waiting for their payment, oldest first: what the expiry sweep reads.
create index orders_awaiting_payment_idx on orders (created_at) where status = 'pending' and payment_status = 'pending';

-- place_order takes the payment method too (an order with one waits for its payment).
drop function place_order(uuid, uuid, bigint, text, integer, text, uuid[], integer[], bigint[], text[]);
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
  p_names text[],
  p_payment_method text
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
-- As in 0012: one generic plan for the stock update.
alter function place_order(uuid, uuid, bigint, text, integer, text, uuid[], integer[], bigint[], text[], text)
  set plan_cache_mode = force_generic_plan;
