-- Identifiers orphan payments may still wait on, left by an apply transaction that met more orphans than
-- it links at once (packages/contacts maxOrphansPerTransaction): one transaction linked all 100,000 orphans
-- of an email (39 s, other tenants' p99 7.1 s; red team, stop 34). The worker's orphans.link job links the
-- rest in bounded transactions and deletes the row; the reconciler enqueues that job for rows left behind.
-- New small table: no rewrite.
CREATE TABLE "orphan_link_backlog" (
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "orphan_link_backlog_tenant_id_kind_value_pk" PRIMARY KEY("tenant_id","kind","value")
);
--> statement-breakpoint
ALTER TABLE "orphan_link_backlog" ADD CONSTRAINT "orphan_link_backlog_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "orphan_link_backlog_age_idx" ON "orphan_link_backlog" USING btree ("tenant_id","created_at");
--> statement-breakpoint
-- Row-level security like every tenant table (SPEC §9, ADR 0002).
ALTER TABLE orphan_link_backlog ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE orphan_link_backlog FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON orphan_link_backlog USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
