-- Intake v2 (ADR 0010). raw_body keeps the exact body bytes (bytea): text cannot hold NUL bytes or
-- invalid UTF-8, and a row Postgres refuses must never fail another request's transaction.
-- The outbox index goes with the receiver's second write of every row (enqueued_at): the reconciler
-- walks rows not yet finished instead.
DROP INDEX "webhook_logs_outbox_idx";--> statement-breakpoint
ALTER TABLE "webhook_logs" ALTER COLUMN "raw_body" SET DATA TYPE bytea USING convert_to("raw_body", 'UTF8');--> statement-breakpoint
CREATE INDEX "webhook_logs_pending_idx" ON "webhook_logs" USING btree ("id") WHERE status IN ('received', 'processing');
