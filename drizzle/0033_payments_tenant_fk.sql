-- Payments get a foreign key to their tenant, as every other tenant table has (review of stop 38): an
-- orphan payment (no contact) was reached by no cascade, so `mcb tenant delete` had to delete it by hand,
-- and one a worker wrote while the tenant was being deleted stayed behind, with the customer's email.
-- Payments of a tenant already gone (deleted by hand before this) are unreachable: they go first, as
-- mcb_admin (BYPASSRLS: under FORCE RLS a non-superuser owner would see no rows).
SET LOCAL ROLE mcb_admin;
--> statement-breakpoint
DELETE FROM payments p WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = p.tenant_id);
--> statement-breakpoint
RESET ROLE;
--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;
