CREATE TABLE "rate_buckets" (
	"key" text PRIMARY KEY NOT NULL,
	"requests" double precision NOT NULL,
	"tokens" double precision NOT NULL,
	"input_tokens" double precision NOT NULL,
	"output_tokens" double precision NOT NULL,
	"refilled_at" timestamp with time zone DEFAULT now() NOT NULL
);
