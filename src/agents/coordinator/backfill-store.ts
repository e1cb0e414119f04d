import type { Backfill } from "../../domain/backfill";
import type { Sql } from "./run-store";

/** Backfills kept for reading after they end (the newest ones). */
const KEEP_BACKFILLS = 100;

/**
 * A pipeline's backfills in its coordinator's SQLite: each one a document (its range, parameters and
 * every slot's status; at most 1,000 slots, about 150 KB), beside the columns queries need.
 */
export class BackfillStore {
  constructor(private readonly sql: Sql) {}

  migrate(): void {
    this.sql`CREATE TABLE IF NOT EXISTS backfills (
      backfill_id TEXT PRIMARY KEY,
      status      TEXT NOT NULL,
      created_at  INTEGER NOT NULL,
      doc         TEXT NOT NULL
    )`;
  }

  load(backfillId: string): Backfill | null {
    const [row] = this.sql<{ doc: string }>`SELECT doc FROM backfills WHERE backfill_id = ${backfillId}`;
    return row ? (JSON.parse(row.doc) as Backfill) : null;
  }

  /** The backfill that has slots left to run, if any (there is at most one). */
  active(): Backfill | null {
    const [row] = this.sql<{ doc: string }>`SELECT doc FROM backfills WHERE status = 'running' ORDER BY created_at LIMIT 1`;
    return row ? (JSON.parse(row.doc) as Backfill) : null;
  }

  save(backfill: Backfill): void {
    this.sql`
      INSERT INTO backfills (backfill_id, status, created_at, doc) VALUES (${backfill.backfillId}, ${backfill.status}, ${backfill.createdAt}, ${JSON.stringify(backfill)})
      ON CONFLICT (backfill_id) DO UPDATE SET status = excluded.status, doc = excluded.doc`;
    this.sql`DELETE FROM backfills WHERE backfill_id IN (SELECT backfill_id FROM backfills ORDER BY created_at DESC LIMIT -1 OFFSET ${KEEP_BACKFILLS})`;
  }

  /** The newest backfills first, whole. */
  recent(limit: number): Backfill[] {
    return this.sql<{ doc: string }>`SELECT doc FROM backfills ORDER BY created_at DESC LIMIT ${limit}`.map((row) => JSON.parse(row.doc) as Backfill);
  }
}
