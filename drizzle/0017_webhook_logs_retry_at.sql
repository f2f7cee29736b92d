-- A log `failed` with a retry promised says when it is due (retry_at): if that retry's job is lost
-- (Redis flushed, or restarted without persistence) the reconciler runs the log again instead of
-- leaving it failed for good (SPEC §10.4). Rows failed before this carry the promise only in their
-- message: they get the time they failed.
ALTER TABLE "webhook_logs" ADD COLUMN "retry_at" timestamp with time zone;--> statement-breakpoint
UPDATE "webhook_logs" SET "retry_at" = coalesce("processed_at", "received_at") WHERE "status" = 'failed' AND "error_message" LIKE '%, will retry)';--> statement-breakpoint
CREATE INDEX "webhook_logs_retry_idx" ON "webhook_logs" USING btree ("id") WHERE status = 'failed' AND retry_at IS NOT NULL;
