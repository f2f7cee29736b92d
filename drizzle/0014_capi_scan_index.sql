DROP INDEX "funnel_events_created_idx";--> statement-breakpoint
CREATE INDEX "funnel_events_created_idx" ON "funnel_events" USING btree ("tenant_id","created_at","id");