CREATE TABLE "webhook_log_search" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "webhook_log_search_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"tenant_id" uuid NOT NULL,
	"log_id" bigint NOT NULL,
	"search_text" text NOT NULL,
	CONSTRAINT "webhook_log_search_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "webhook_log_search" ADD CONSTRAINT "webhook_log_search_log_fk" FOREIGN KEY ("tenant_id","log_id") REFERENCES "public"."webhook_logs"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "webhook_log_search_log_idx" ON "webhook_log_search" USING btree ("tenant_id","log_id");--> statement-breakpoint
CREATE INDEX "webhook_log_search_trgm_idx" ON "webhook_log_search" USING gin ("search_text" gin_trgm_ops);