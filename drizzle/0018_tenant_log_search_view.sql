-- The search text of the current tenant's logs, for operator searches of ONE tenant, which run as
-- mcb_app with the tenant set (ADR 0002). Hand-written.
-- Why a view: under row-level security Postgres may not evaluate a non-leakproof operator before the
-- policy, and LIKE (pg_trgm's operator) is not leakproof, so as mcb_app a `search_text LIKE '%…%'` on
-- webhook_log_search cannot use the trigram index and reads every row of the tenant (ADR 0002: one
-- email in a tenant of 200,000 logs, 2.4 ms as admin, 52 ms as mcb_app on the table, 2.7 ms through
-- this view). The view is owned by mcb_admin, so the table's policy is not applied inside it, and it
-- filters on the tenant setting itself: no tenant set → no rows, exactly like the policy. The filter is
-- written `= ANY (ARRAY[…])`: as a plain equality it would be merged with the policy of webhook_logs in
-- the same query (and count as a policy again for the planner); as a sub-select the planner could not
-- see which tenant it is and would misjudge a big tenant's size (it evaluates the function when it
-- estimates, which it cannot do through a sub-select).
-- It is not a security barrier on purpose: the trigram condition must reach the index. That lets a
-- query's own functions see other tenants' search text before the filter — harmless for LIKE, and
-- only SELECT is granted, so it cannot be written through.
CREATE VIEW webhook_log_search_in_tenant AS
  SELECT tenant_id, log_id, search_text FROM webhook_log_search WHERE tenant_id = ANY (ARRAY[mcb_current_tenant()]);
--> statement-breakpoint
DO $$
DECLARE superuser boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
  -- A role owns an object of a schema only with CREATE on it; mcb_admin gets it for this statement only.
  IF NOT superuser THEN EXECUTE 'GRANT CREATE ON SCHEMA public TO mcb_admin'; END IF;
  ALTER VIEW webhook_log_search_in_tenant OWNER TO mcb_admin;
  IF NOT superuser THEN EXECUTE 'REVOKE CREATE ON SCHEMA public FROM mcb_admin'; END IF;
END
$$;
--> statement-breakpoint
REVOKE ALL ON webhook_log_search_in_tenant FROM mcb_app;
--> statement-breakpoint
GRANT SELECT ON webhook_log_search_in_tenant TO mcb_app;
