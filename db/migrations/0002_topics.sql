CREATE TABLE "topics" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text DEFAULT '' NOT NULL,
	"mode" text NOT NULL,
	"dataset_id" text NOT NULL,
	"run_id" text,
	"meta" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "topics" ADD CONSTRAINT "topics_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "topics_owner_created" ON "topics" USING btree ("owner","created_at");