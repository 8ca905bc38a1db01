CREATE TABLE "dataset_counts" (
	"dataset_id" text NOT NULL,
	"writer" text NOT NULL,
	"n" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "dataset_counts_dataset_id_writer_pk" PRIMARY KEY("dataset_id","writer")
);
--> statement-breakpoint
CREATE TABLE "run_counters" (
	"run_id" text NOT NULL,
	"writer" text NOT NULL,
	"total" integer DEFAULT 0 NOT NULL,
	"done" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"records" integer DEFAULT 0 NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"cost_usd" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "run_counters_run_id_writer_pk" PRIMARY KEY("run_id","writer")
);
--> statement-breakpoint
ALTER TABLE "run_events" DROP CONSTRAINT "run_events_run_id_seq_pk";--> statement-breakpoint
ALTER TABLE "run_events" ALTER COLUMN "seq" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "run_events" ADD COLUMN "id" bigint PRIMARY KEY NOT NULL GENERATED ALWAYS AS IDENTITY (sequence name "run_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1);--> statement-breakpoint
ALTER TABLE "run_events" ADD COLUMN "record_id" bigint;--> statement-breakpoint
ALTER TABLE "dataset_counts" ADD CONSTRAINT "dataset_counts_dataset_id_datasets_id_fk" FOREIGN KEY ("dataset_id") REFERENCES "public"."datasets"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "run_counters" ADD CONSTRAINT "run_counters_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "run_events_run_seq" ON "run_events" USING btree ("run_id","seq");--> statement-breakpoint
CREATE INDEX "run_events_unsequenced" ON "run_events" USING btree ("run_id","id") WHERE seq is null;--> statement-breakpoint
ALTER TABLE "runs" DROP COLUMN "event_seq";--> statement-breakpoint
-- Numbers a run's committed, unnumbered events after the ones numbered before, oldest id first, at
-- most 5,000 a call; returns the run's newest seq, and whether more may be waiting. Commits never take its lock, so they never wait
-- for each other; sequencers of one run take turns. Each statement sees every commit made before it
-- began, so whatever this call numbers follows what earlier calls numbered.
CREATE FUNCTION quarry_sequence_events(p_run text, OUT head integer, OUT more boolean) LANGUAGE plpgsql AS $$
DECLARE
  added integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('quarry_sequence_events:' || p_run, 0));
  SELECT coalesce(max(seq), 0) INTO head FROM run_events WHERE run_id = p_run;
  WITH pending AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
      FROM (SELECT id FROM run_events WHERE run_id = p_run AND seq IS NULL ORDER BY id LIMIT 5000) oldest
  )
  UPDATE run_events e SET seq = head + p.n FROM pending p WHERE e.id = p.id;
  GET DIAGNOSTICS added = ROW_COUNT;
  head := head + added;
  more := added = 5000;
END $$;
