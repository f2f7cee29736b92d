ALTER TABLE "capi_scan_marks" ADD COLUMN "generation" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- Called by the applier as the last statement before COMMIT (packages/contacts/src/apply.ts): a
-- transaction open longer than max_age rolls back instead of committing (SQLSTATE 57014, retried like
-- a statement timeout). Its funnel events carry its start as created_at but become visible at commit,
-- and the Conversions API scan (ADR 0017) re-reads only `settleMs` (10 min) behind its mark: a bounded
-- transaction is what makes every committed event fall inside that window.
CREATE OR REPLACE FUNCTION mcb_check_transaction_age(max_age interval) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF clock_timestamp() - transaction_timestamp() > max_age THEN
    RAISE EXCEPTION 'transaction open for % (limit %): rolled back, its events would fall behind the Conversions API scan',
      clock_timestamp() - transaction_timestamp(), max_age USING ERRCODE = '57014';
  END IF;
END
$$;
