-- The ad account's currency (Meta's account_currency, lowercase): spend_cents is in its minor units
-- (¥5,000 is 5000, $12.34 is 1234). Null on rows synced before: the weekly report reads those as the
-- tenant's reporting currency, and the next sync rewrites the days it re-pulls. A nullable column with
-- no default: no table rewrite.
ALTER TABLE "meta_ad_insights" ADD COLUMN "currency" text;
