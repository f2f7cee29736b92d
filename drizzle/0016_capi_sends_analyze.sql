-- capi_sends grows from nothing to a whole backlog in minutes; the default analyze threshold
-- (50 rows + 10 %) lets its statistics lag, and with stale statistics the planner scans a tenant's
-- rows for a per-key lookup (ADR 0017). Analyze after every 1,000 changed rows instead.
ALTER TABLE capi_sends SET (autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);
