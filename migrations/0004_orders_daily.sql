-- The orders-daily pipeline's table (src/pipelines/orders-daily/pipeline.ts): one row per store and day,
-- rolled up from orders. run_id, loaded_at and position are written by the engine on every destination table.
CREATE TABLE orders_daily (
  store_id   TEXT    NOT NULL,
  order_day  TEXT    NOT NULL,
  net_cents  INTEGER NOT NULL,
  sales      INTEGER NOT NULL CHECK (sales >= 0),
  refunds    INTEGER NOT NULL CHECK (refunds >= 0),
  currency   TEXT    NOT NULL,
  run_id     TEXT    NOT NULL,
  loaded_at  INTEGER NOT NULL,
  position   INTEGER,
  PRIMARY KEY (store_id, order_day)
);
