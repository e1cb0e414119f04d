-- The position of the record in the run that loaded it. Lets the load stage tell a duplicate id within one
-- run (same run, another position: refused) from a retried load of the same record (same position: rewritten).
ALTER TABLE metrics ADD COLUMN position INTEGER;
