-- Vectors of record texts per (owner, model, text), float32 little-endian: services/embeddings reads and writes them.
CREATE TABLE "embeddings" (
	"owner" text NOT NULL,
	"model_key" text NOT NULL,
	"text_hash" text NOT NULL,
	"dims" integer NOT NULL,
	"vector" "bytea" NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "embeddings_owner_model_key_text_hash_pk" PRIMARY KEY("owner","model_key","text_hash")
);
