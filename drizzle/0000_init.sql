CREATE TABLE "contact_field_changes" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "contact_field_changes_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"field" text NOT NULL,
	"old_value" text,
	"new_value" text,
	"webhook_log_id" bigint,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contact_field_changes_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
CREATE TABLE "contacts" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"mc_id" text,
	"ghl_id" text,
	"email_primary" text,
	"email_booking" text,
	"email_payment" text,
	"phone" text,
	"first_name" text,
	"last_name" text,
	"ig_username" text,
	"ig_id" text,
	"stripe_customer_id" text,
	"stage" text,
	"source" text,
	"ad_id" text,
	"tags" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"merged_into_id" uuid,
	"first_seen_at" timestamp with time zone,
	"field_meta" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "contacts_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "contacts_tenant_mc_id_unique" UNIQUE("tenant_id","mc_id"),
	CONSTRAINT "contacts_tenant_ghl_id_unique" UNIQUE("tenant_id","ghl_id")
);
--> statement-breakpoint
CREATE TABLE "funnel_events" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid NOT NULL,
	"event_type" text NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"source" text NOT NULL,
	"source_event_id" text NOT NULL,
	"webhook_log_id" bigint,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "funnel_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "funnel_events_source_event_unique" UNIQUE("tenant_id","source","source_event_id")
);
--> statement-breakpoint
CREATE TABLE "meta_ad_creatives" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "meta_ad_creatives_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"ad_id" text NOT NULL,
	"creative_id" text,
	"title" text,
	"body" text,
	"thumbnail_url" text,
	"preview_url" text,
	"video_id" text,
	"media_type" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_ad_creatives_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "meta_ad_creatives_tenant_ad_unique" UNIQUE("tenant_id","ad_id")
);
--> statement-breakpoint
CREATE TABLE "meta_ad_insights" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "meta_ad_insights_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"ad_id" text NOT NULL,
	"date" date NOT NULL,
	"spend_cents" bigint DEFAULT 0 NOT NULL,
	"impressions" bigint DEFAULT 0 NOT NULL,
	"clicks" bigint DEFAULT 0 NOT NULL,
	"reach" bigint DEFAULT 0 NOT NULL,
	"link_clicks" bigint DEFAULT 0 NOT NULL,
	"landing_page_views" bigint DEFAULT 0 NOT NULL,
	"leads" bigint DEFAULT 0 NOT NULL,
	"actions" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_ad_insights_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "meta_ad_insights_tenant_ad_date_unique" UNIQUE("tenant_id","ad_id","date")
);
--> statement-breakpoint
CREATE TABLE "meta_ads" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "meta_ads_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"ad_id" text NOT NULL,
	"ad_name" text,
	"adset_id" text,
	"adset_name" text,
	"campaign_id" text,
	"campaign_name" text,
	"status" text,
	"effective_status" text,
	"created_time" timestamp with time zone,
	"updated_time" timestamp with time zone,
	"last_synced_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "meta_ads_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "meta_ads_tenant_ad_unique" UNIQUE("tenant_id","ad_id")
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"contact_id" uuid,
	"payment_event_id" text NOT NULL,
	"source" text NOT NULL,
	"payment_type" text NOT NULL,
	"category" text NOT NULL,
	"amount_cents" bigint NOT NULL,
	"currency" text DEFAULT 'usd' NOT NULL,
	"status" text NOT NULL,
	"customer_email" text,
	"customer_name" text,
	"customer_phone" text,
	"paid_at" timestamp with time zone NOT NULL,
	"webhook_log_id" bigint,
	"stripe_customer_id" text,
	"stripe_session_id" text,
	"stripe_payment_intent_id" text,
	"denefits_contract_code" text,
	"denefits_financed_cents" bigint,
	"denefits_recurring_cents" bigint,
	"denefits_num_payments" integer,
	"denefits_remaining_payments" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "payments_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "payments_payment_event_unique" UNIQUE("tenant_id","payment_event_id")
);
--> statement-breakpoint
CREATE TABLE "report_runs" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "report_runs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"period_start" date NOT NULL,
	"period_end" date NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"recipients" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"provider_message_id" text,
	"error" text,
	"sent_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_runs_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "report_runs_tenant_kind_period_unique" UNIQUE("tenant_id","kind","period_start")
);
--> statement-breakpoint
CREATE TABLE "tenant_integrations" (
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"credentials" jsonb,
	"webhook_secret" text,
	"previous_webhook_secret" text,
	"previous_secret_expires_at" timestamp with time zone,
	"is_active" boolean DEFAULT true NOT NULL,
	"last_error" text,
	"last_success_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_integrations_tenant_id_id_pk" PRIMARY KEY("tenant_id","id"),
	CONSTRAINT "tenant_integrations_tenant_provider_unique" UNIQUE("tenant_id","provider"),
	CONSTRAINT "tenant_integrations_provider_check" CHECK ("tenant_integrations"."provider" in ('manychat','ghl','stripe','denefits','perspective','meta','resend'))
);
--> statement-breakpoint
CREATE TABLE "tenants" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"owner_name" text,
	"report_email" text,
	"config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"is_active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenants_slug_unique" UNIQUE("slug"),
	CONSTRAINT "tenants_slug_format" CHECK ("tenants"."slug" ~ '^[a-z0-9-]{2,40}$')
);
--> statement-breakpoint
CREATE TABLE "webhook_logs" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "webhook_logs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"source" text NOT NULL,
	"event_type" text,
	"dedupe_key" text NOT NULL,
	"headers" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"payload" jsonb,
	"raw_body" text,
	"status" text DEFAULT 'received' NOT NULL,
	"error_message" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"enqueued_at" timestamp with time zone,
	"processed_at" timestamp with time zone,
	"contact_id" uuid,
	CONSTRAINT "webhook_logs_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "contact_field_changes" ADD CONSTRAINT "contact_field_changes_tenant_id_contact_id_contacts_tenant_id_id_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "public"."contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_merged_into_fk" FOREIGN KEY ("tenant_id","merged_into_id") REFERENCES "public"."contacts"("tenant_id","id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "funnel_events" ADD CONSTRAINT "funnel_events_tenant_id_contact_id_contacts_tenant_id_id_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "public"."contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_ad_creatives" ADD CONSTRAINT "meta_ad_creatives_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_ad_insights" ADD CONSTRAINT "meta_ad_insights_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "meta_ads" ADD CONSTRAINT "meta_ads_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_tenant_id_contact_id_contacts_tenant_id_id_fk" FOREIGN KEY ("tenant_id","contact_id") REFERENCES "public"."contacts"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "report_runs" ADD CONSTRAINT "report_runs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tenant_integrations" ADD CONSTRAINT "tenant_integrations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "webhook_logs" ADD CONSTRAINT "webhook_logs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "contact_field_changes_contact_idx" ON "contact_field_changes" USING btree ("tenant_id","contact_id","changed_at");--> statement-breakpoint
CREATE INDEX "contacts_email_primary_idx" ON "contacts" USING btree ("tenant_id",lower("email_primary"));--> statement-breakpoint
CREATE INDEX "contacts_email_booking_idx" ON "contacts" USING btree ("tenant_id",lower("email_booking"));--> statement-breakpoint
CREATE INDEX "contacts_email_payment_idx" ON "contacts" USING btree ("tenant_id",lower("email_payment"));--> statement-breakpoint
CREATE INDEX "contacts_phone_idx" ON "contacts" USING btree ("tenant_id","phone");--> statement-breakpoint
CREATE INDEX "contacts_stripe_customer_idx" ON "contacts" USING btree ("tenant_id","stripe_customer_id");--> statement-breakpoint
CREATE INDEX "contacts_created_at_idx" ON "contacts" USING btree ("tenant_id","created_at");--> statement-breakpoint
CREATE INDEX "funnel_events_occurred_idx" ON "funnel_events" USING btree ("tenant_id","occurred_at");--> statement-breakpoint
CREATE INDEX "funnel_events_type_occurred_idx" ON "funnel_events" USING btree ("tenant_id","event_type","occurred_at");--> statement-breakpoint
CREATE INDEX "funnel_events_contact_idx" ON "funnel_events" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE INDEX "payments_paid_at_idx" ON "payments" USING btree ("tenant_id","paid_at");--> statement-breakpoint
CREATE INDEX "payments_contact_idx" ON "payments" USING btree ("tenant_id","contact_id");--> statement-breakpoint
CREATE INDEX "payments_orphan_email_idx" ON "payments" USING btree ("tenant_id",lower("customer_email")) WHERE contact_id IS NULL;--> statement-breakpoint
CREATE INDEX "payments_orphan_stripe_customer_idx" ON "payments" USING btree ("tenant_id","stripe_customer_id") WHERE contact_id IS NULL;--> statement-breakpoint
CREATE INDEX "payments_orphan_phone_idx" ON "payments" USING btree ("tenant_id","customer_phone") WHERE contact_id IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "webhook_logs_dedupe_unique" ON "webhook_logs" USING btree ("tenant_id","source","dedupe_key") WHERE status <> 'rejected';--> statement-breakpoint
CREATE INDEX "webhook_logs_id_idx" ON "webhook_logs" USING btree ("id");--> statement-breakpoint
CREATE INDEX "webhook_logs_tenant_received_idx" ON "webhook_logs" USING btree ("tenant_id","received_at","id");--> statement-breakpoint
CREATE INDEX "webhook_logs_tenant_status_idx" ON "webhook_logs" USING btree ("tenant_id","status","id");--> statement-breakpoint
CREATE INDEX "webhook_logs_outbox_idx" ON "webhook_logs" USING btree ("received_at") WHERE enqueued_at IS NULL AND status = 'received';