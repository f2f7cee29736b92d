ALTER TABLE "capi_sends" ADD COLUMN "test_event_code" text;--> statement-breakpoint
CREATE INDEX "capi_sends_test_idx" ON "capi_sends" USING btree ("tenant_id","id") WHERE test_event_code is not null;