CREATE TABLE "batch_items" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"key" text NOT NULL,
	"run_id" text NOT NULL,
	"task_id" bigint NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"request" json NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"batch_id" text,
	"submissions" integer DEFAULT 0 NOT NULL,
	"response" json,
	"error" jsonb,
	"charged_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "batches" (
	"id" text PRIMARY KEY NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"provider_batch_id" text,
	"state" text DEFAULT 'submitting' NOT NULL,
	"lines" integer NOT NULL,
	"lease_until" timestamp with time zone DEFAULT now() NOT NULL,
	"counts" jsonb,
	"error" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"submitted_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"expected_end" timestamp with time zone
);
--> statement-breakpoint
CREATE UNIQUE INDEX "batch_items_owner_key" ON "batch_items" USING btree ("owner","key");--> statement-breakpoint
CREATE INDEX "batch_items_pending" ON "batch_items" USING btree ("provider","model","created_at") WHERE state = 'pending';--> statement-breakpoint
CREATE INDEX "batch_items_batch" ON "batch_items" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "batch_items_run" ON "batch_items" USING btree ("run_id","state");--> statement-breakpoint
CREATE UNIQUE INDEX "batches_provider_batch" ON "batches" USING btree ("provider","provider_batch_id");--> statement-breakpoint
CREATE INDEX "batches_open" ON "batches" USING btree ("state","lease_until") WHERE state in ('submitting', 'submitted');
