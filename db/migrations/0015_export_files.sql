CREATE TABLE "export_files" (
	"run_id" text NOT NULL,
	"owner" text NOT NULL,
	"path" text NOT NULL,
	"split" text,
	"rows" integer NOT NULL,
	"bytes" bigint NOT NULL,
	"sha256" text NOT NULL,
	"content" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "export_files_run_id_path_pk" PRIMARY KEY("run_id","path")
);
