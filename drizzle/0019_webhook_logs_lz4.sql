-- Bodies and headers of new webhook logs are compressed with lz4 instead of pglz (Postgres' default).
-- A Stripe event of 1.5 KB plus its headers passes the TOAST threshold (≈ 2 KB a row), so every
-- intake insert compresses the payload: pglz was the first item of Postgres' profile during the
-- intake bench (7 % of the backends' CPU), and lz4 inserts the same rows ≈ 12 µs faster each
-- (20,000 rows: 725–838 ms pglz, 528–551 ms lz4, measured) for ≈ 5 % more bytes per payload
-- (1,054 vs 1,001 B). Reading them back (the worker, the console) is faster too. Rows written
-- before keep pglz; Postgres reads both. A server built without lz4 keeps pglz: the change is
-- skipped with a notice rather than failing the migration.
DO $$
BEGIN
  ALTER TABLE "webhook_logs"
    ALTER COLUMN "payload" SET COMPRESSION lz4,
    ALTER COLUMN "headers" SET COMPRESSION lz4,
    ALTER COLUMN "raw_body" SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
  RAISE NOTICE 'webhook_logs keeps pglz compression: %', SQLERRM;
END $$;
