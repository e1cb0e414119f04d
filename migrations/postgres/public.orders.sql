-- The PostgreSQL table of pipeline orders-to-postgres (npm run pipeline -- migration orders-to-postgres).
-- Apply: psql "$DATABASE_URL" -f migrations/postgres/public.orders.sql
CREATE TABLE IF NOT EXISTS "public"."orders" (
  "store_id" text NOT NULL,
  "order_id" text NOT NULL,
  "kind" text NOT NULL,
  "amount_cents" bigint NOT NULL,
  "net_cents" bigint NOT NULL,
  "currency" text NOT NULL,
  "original_order_id" text,
  "ordered_at" timestamp with time zone NOT NULL,
  "order_day" text NOT NULL,
  "run_id" text NOT NULL,
  "loaded_at" bigint NOT NULL,
  "position" bigint,
  PRIMARY KEY ("store_id", "order_id")
);
