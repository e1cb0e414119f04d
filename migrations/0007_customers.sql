-- The customers pipeline's table, from its definition (npm run pipeline -- migration customers): one row per
-- (customer_id). run_id, loaded_at and position are written by the engine on every destination table.
CREATE TABLE customers (
  customer_id      INTEGER NOT NULL,
  name             TEXT    NOT NULL,
  email            TEXT    NOT NULL,
  country          TEXT,
  marketing_opt_in INTEGER NOT NULL,
  updated_at       TEXT    NOT NULL,
  run_id           TEXT    NOT NULL,
  loaded_at        INTEGER NOT NULL,
  position         INTEGER,
  PRIMARY KEY (customer_id)
);
