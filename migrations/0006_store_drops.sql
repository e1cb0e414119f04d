-- The store-drops pipeline's table (src/pipelines/store-drops/pipeline.ts): orders from files stores upload,
-- one row per (store_id, order_id), as orders has them. run_id, loaded_at and position are the engine's.
CREATE TABLE store_drops (
  store_id          TEXT    NOT NULL,
  order_id          TEXT    NOT NULL,
  kind              TEXT    NOT NULL CHECK (kind IN ('sale', 'refund')),
  amount_cents      INTEGER NOT NULL CHECK (amount_cents >= 0),
  net_cents         INTEGER NOT NULL,
  currency          TEXT    NOT NULL,
  original_order_id TEXT,
  ordered_at        TEXT    NOT NULL,
  order_day         TEXT    NOT NULL,
  run_id            TEXT    NOT NULL,
  loaded_at         INTEGER NOT NULL,
  position          INTEGER,
  PRIMARY KEY (store_id, order_id)
);
