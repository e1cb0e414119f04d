-- The object ledger of file sources (src/sources/r2/ledger.ts): which objects (by key and etag) a pipeline's
-- source has read, and which run's success made them count as read. An object a run read but that run did
-- not succeed has committed_run_id NULL and is read again by the next run.
CREATE TABLE source_objects (
  pipeline         TEXT    NOT NULL,
  source           TEXT    NOT NULL,
  object_key       TEXT    NOT NULL,
  etag             TEXT    NOT NULL,
  size             INTEGER NOT NULL,
  records          INTEGER NOT NULL,
  run_id           TEXT    NOT NULL,
  read_at          INTEGER NOT NULL,
  committed_run_id TEXT,
  PRIMARY KEY (pipeline, source, object_key, etag)
);
CREATE INDEX source_objects_by_run ON source_objects (pipeline, run_id);
