ALTER TABLE "contacts" ADD COLUMN "known_emails" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "contacts" ADD COLUMN "known_phones" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
CREATE INDEX "contacts_known_emails_idx" ON "contacts" USING gin ("known_emails");--> statement-breakpoint
CREATE INDEX "contacts_known_phones_idx" ON "contacts" USING gin ("known_phones");