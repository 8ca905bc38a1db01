CREATE TABLE "tool_sets" (
	"id" text PRIMARY KEY NOT NULL,
	"owner" text DEFAULT '' NOT NULL,
	"name" text NOT NULL,
	"format" text NOT NULL,
	"tools" json NOT NULL,
	"summary" json NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "tool_sets_owner_created" ON "tool_sets" USING btree ("owner","created_at");