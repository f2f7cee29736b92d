-- payments.customer_email_key was `GENERATED ALWAYS AS (lower(customer_email))`. The applier looks orphans
-- up by email identities lowercased by JavaScript, which differs from Postgres' lower() for some letters
-- (`İ`: JavaScript `i̇`, Postgres `i`): such a payment never met its person, and whether it was linked
-- depended on the order events came in (red team, stop 34). The applier now writes the key itself, as the
-- identity's value. DROP EXPRESSION keeps every stored value and the partial index; no rewrite.
ALTER TABLE "payments" ALTER COLUMN "customer_email_key" DROP EXPRESSION;
