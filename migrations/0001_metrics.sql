-- Loaded records. One row per (pipeline, record id): loads are upserts, so re-running never duplicates.
CREATE TABLE metrics (
  pipeline   TEXT    NOT NULL,
  id         TEXT    NOT NULL,
  timestamp  TEXT    NOT NULL,
  value      REAL    NOT NULL,
  category   TEXT    NOT NULL CHECK (category IN ('low', 'medium', 'high')),
  type       TEXT,
  run_id     TEXT    NOT NULL,
  loaded_at  INTEGER NOT NULL,
  PRIMARY KEY (pipeline, id)
);

-- Records a stage refused, with the reason. Keyed by their position in the run's input, so a resumed
-- load rewrites the same rows instead of adding new ones.
CREATE TABLE rejected_records (
  pipeline   TEXT    NOT NULL,
  run_id     TEXT    NOT NULL,
  position   INTEGER NOT NULL,
  record_id  TEXT,
  stage      TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  raw        TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline, run_id, position)
);
