-- The application table the customers pipeline reads (src/pipelines/customers/pipeline.ts), with a few
-- customers to read: psql "$DATABASE_URL" -f docs/examples/postgres/customers.sql
CREATE TABLE IF NOT EXISTS customers (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  email text NOT NULL,
  country text,
  marketing_opt_in boolean NOT NULL DEFAULT false,
  -- Milliseconds, as the watermark keeps them (docs/postgres.md, "A watermark on updated_at").
  updated_at timestamptz(3) NOT NULL DEFAULT now()
);

INSERT INTO customers (id, name, email, country, marketing_opt_in, updated_at) VALUES
  (1, 'Ada Lovelace', 'Ada@Example.com', 'GB', true, '2026-11-30 09:00:00+00'),
  (2, 'Jürgen Müller', 'juergen@example.de', 'DE', false, '2026-11-30 09:05:00+01'),
  (3, 'Zoë O''Brien', 'zoe@example.ie', 'IE', true, '2026-11-30 09:10:00+00'),
  (4, '山田 太郎', 'taro@example.jp', 'JP', false, '2026-11-30 18:15:00+09'),
  (5, 'Nameless Shop', 'not an email', NULL, false, '2026-11-30 09:20:00+00'),
  (6, 'Grace Hopper', 'grace@example.com', 'US', true, '2026-11-30 04:25:00-05')
ON CONFLICT (id) DO NOTHING;
