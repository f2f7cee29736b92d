DROP INDEX "funnel_events_contact_idx";--> statement-breakpoint
CREATE INDEX "contacts_merged_into_idx" ON "contacts" USING btree ("tenant_id","merged_into_id","id") WHERE merged_into_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "meta_ad_insights_date_idx" ON "meta_ad_insights" USING btree ("tenant_id","date");--> statement-breakpoint
CREATE INDEX "funnel_events_contact_idx" ON "funnel_events" USING btree ("tenant_id","contact_id","occurred_at");