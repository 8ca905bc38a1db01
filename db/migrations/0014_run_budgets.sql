ALTER TABLE "runs" ADD COLUMN "max_cost_usd" double precision;--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "budget_exceeded" jsonb;