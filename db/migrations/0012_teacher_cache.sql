CREATE TABLE "teacher_cache" (
	"owner" text NOT NULL,
	"key" text NOT NULL,
	"provider" text NOT NULL,
	"model" text NOT NULL,
	"response" jsonb NOT NULL,
	"bytes" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone DEFAULT now() NOT NULL,
	"hits" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "teacher_cache_owner_key_pk" PRIMARY KEY("owner","key")
);
--> statement-breakpoint
ALTER TABLE "run_counters" ADD COLUMN "cache_hits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "cache_hits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "teacher_cache_last_used" ON "teacher_cache" USING btree ("last_used_at");--> statement-breakpoint
CREATE INDEX "teacher_cache_created" ON "teacher_cache" USING btree ("created_at");