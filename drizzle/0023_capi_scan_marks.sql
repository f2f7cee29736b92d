CREATE TABLE "capi_scan_marks" (
	"tenant_id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"funnel_event_id" uuid NOT NULL,
	"config_key" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
DROP INDEX "funnel_events_contact_idx";--> statement-breakpoint
ALTER TABLE "capi_scan_marks" ADD CONSTRAINT "capi_scan_marks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "funnel_events_contact_idx" ON "funnel_events" USING btree ("tenant_id","contact_id","occurred_at","id");--> statement-breakpoint
-- Row-level security like every tenant table (SPEC §9, ADR 0002).
ALTER TABLE capi_scan_marks ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE capi_scan_marks FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON capi_scan_marks USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
