-- Datasets that exist already were written before records knew their formats: false for them, true for new ones.
ALTER TABLE "datasets" ADD COLUMN "tagged" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "datasets" ALTER COLUMN "tagged" SET DEFAULT true;--> statement-breakpoint
ALTER TABLE "records" ADD COLUMN "unrenderable" text;--> statement-breakpoint
CREATE INDEX "records_unrenderable" ON "records" USING btree ("dataset_id","id") WHERE unrenderable is not null;
