CREATE TABLE "capi_sends" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "capi_sends_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"funnel_event_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"webhook_log_id" bigint,
	"event_name" text NOT NULL,
	"event_id" text NOT NULL,
	"event_time" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"payload" jsonb,
	"attempts" integer DEFAULT 0 NOT NULL,
	"claimed_at" timestamp with time zone,
	"events_received" integer,
	"fbtrace_id" text,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "capi_sends_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "capi_sends_event_unique" UNIQUE("tenant_id","funnel_event_id","event_name"),
	CONSTRAINT "capi_sends_status_check" CHECK ("capi_sends"."status" in ('pending','sent','skipped','failed'))
);
--> statement-breakpoint
ALTER TABLE "tenant_integrations" DROP CONSTRAINT "tenant_integrations_provider_check";--> statement-breakpoint
ALTER TABLE "capi_sends" ADD CONSTRAINT "capi_sends_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "capi_sends" ADD CONSTRAINT "capi_sends_funnel_event_fk" FOREIGN KEY ("tenant_id","funnel_event_id") REFERENCES "public"."funnel_events"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "capi_sends_lead_unique" ON "capi_sends" USING btree ("tenant_id","contact_id") WHERE event_name = 'Lead';--> statement-breakpoint
CREATE INDEX "capi_sends_pending_idx" ON "capi_sends" USING btree ("tenant_id","id") WHERE status = 'pending';--> statement-breakpoint
CREATE INDEX "capi_sends_log_idx" ON "capi_sends" USING btree ("tenant_id","webhook_log_id");--> statement-breakpoint
CREATE INDEX "capi_sends_created_idx" ON "capi_sends" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "funnel_events_created_idx" ON "funnel_events" USING btree ("tenant_id","created_at");--> statement-breakpoint
ALTER TABLE "tenant_integrations" ADD CONSTRAINT "tenant_integrations_provider_check" CHECK ("tenant_integrations"."provider" in ('manychat','ghl','stripe','denefits','perspective','meta','resend','meta_capi'));--> statement-breakpoint
-- Row-level security like every tenant table (SPEC §9, ADR 0002).
ALTER TABLE capi_sends ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE capi_sends FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON capi_sends USING (tenant_id = mcb_current_tenant()) WITH CHECK (tenant_id = mcb_current_tenant());
