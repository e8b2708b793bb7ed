-- place_order's stock update joins products to unnest() of its array arguments. PostgreSQL keeps a
-- custom plan for it (a generic plan's row estimate for unnest is higher, so it never looks as cheap)
-- and so plans the update again on every checkout: 70 µs of the function's 120 µs under load. The plan
-- is the same whatever the arrays hold (an index lookup per line), so keep the generic one.
alter function place_order(uuid, uuid, bigint, text, integer, text, uuid[], integer[], bigint[], text[])
  set plan_cache_mode = force_generic_plan;
