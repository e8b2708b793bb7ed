-- Idempotency keys in the platform's one shape, as every service keeps them: `caller` (the caller's
-- user UUID as text, '' for anonymous callers), no stored status (the operation implies it), and
-- the same index name.
alter table idempotency_keys rename column user_id to caller;
alter table idempotency_keys alter column caller type text using caller::text;
alter table idempotency_keys drop column status_code;
alter index idempotency_keys_by_created rename to idempotency_keys_created_idx;
