-- Datasets that exist already were tagged against the version-1 contracts (chat, alpaca, fairforge) at most: 1 for them, 2 for new ones.
ALTER TABLE "datasets" ADD COLUMN "tag_version" smallint DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "datasets" ALTER COLUMN "tag_version" SET DEFAULT 2;
