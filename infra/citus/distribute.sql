-- Distribute MCB's tables by tenant on Citus (run once, as the owner, on the coordinator, after
-- `mcb db migrate` has created the schema and before the apps start; see README.md).
-- tenants is a reference table (a copy on every node); every table with tenant_id is distributed
-- by it and colocated with the others, so one tenant's rows, joins, foreign keys and transactions
-- stay on one node. A table referenced by a foreign key is distributed before the tables that
-- reference it. infra/deploy/citus.int.test.ts checks this file against the migrated schema.
-- Tables without tenant_id stay local to the coordinator (only the console reads them):
-- local: console_sessions
CREATE EXTENSION IF NOT EXISTS citus;

BEGIN;
SELECT create_reference_table('tenants');

SELECT create_distributed_table('tenant_integrations', 'tenant_id');
SELECT create_distributed_table('contacts', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('contact_identities', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('contact_field_changes', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('webhook_logs', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('webhook_log_search', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('funnel_events', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('payments', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('payment_status_changes', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('stripe_first_invoices', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('stripe_invoice_payments', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('orphan_link_backlog', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('capi_sends', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('capi_scan_marks', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('meta_ads', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('meta_ad_creatives', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('meta_ad_insights', 'tenant_id', colocate_with => 'tenant_integrations');
SELECT create_distributed_table('report_runs', 'tenant_id', colocate_with => 'tenant_integrations');
COMMIT;
