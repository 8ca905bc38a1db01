DROP INDEX "tasks_queued";--> statement-breakpoint
DROP INDEX "tasks_run_status";--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "claim_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "runs_in_flight" ON "runs" USING btree ("id") WHERE status in ('queued', 'running');--> statement-breakpoint
CREATE INDEX "tasks_run_status" ON "tasks" USING btree ("run_id","status","run_at","id");