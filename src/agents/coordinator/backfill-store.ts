import { summarizeBackfill, type Backfill, type BackfillSummary } from "../../domain/backfill";
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
    if (!this.sql<{ name: string }>`SELECT name FROM pragma_table_info('backfills')`.some((column) => column.name === "summary")) this.sql`ALTER TABLE backfills ADD COLUMN summary TEXT`;
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

  /** Backfills not yet over: running, or cancelled with a run still going. */
  unsettled(): Backfill[] {
    return this.sql<{ doc: string }>`SELECT doc FROM backfills WHERE status IN ('running', 'cancelled') ORDER BY created_at`
      .map((row) => JSON.parse(row.doc) as Backfill)
      .filter((backfill) => backfill.endedAt === null);
  }

  /** Cascading backfills that ended without telling their downstream pipelines yet, oldest first. */
  owingCascadeNotice(): string[] {
    return this.sql<{ backfill_id: string }>`
      SELECT backfill_id FROM backfills
      WHERE status != 'running' AND json_extract(doc, '$.cascade.root') IS NOT NULL AND json_extract(doc, '$.cascade.notifiedAt') IS NULL
        AND json_extract(doc, '$.endedAt') IS NOT NULL
      ORDER BY created_at`.map((row) => row.backfill_id);
  }

  save(backfill: Backfill): void {
    const summary = JSON.stringify(summarizeBackfill(backfill));
    this.sql`
      INSERT INTO backfills (backfill_id, status, created_at, doc, summary) VALUES (${backfill.backfillId}, ${backfill.status}, ${backfill.createdAt}, ${JSON.stringify(backfill)}, ${summary})
      ON CONFLICT (backfill_id) DO UPDATE SET status = excluded.status, doc = excluded.doc, summary = excluded.summary`;
    this.sql`DELETE FROM backfills WHERE backfill_id IN (SELECT backfill_id FROM backfills ORDER BY created_at DESC LIMIT -1 OFFSET ${KEEP_BACKFILLS})`;
  }

  /** The newest backfills first, in brief (without their slots: a list need not read 1,000 slots each). */
  recent(limit: number): BackfillSummary[] {
    return this.sql<{ doc: string; summary: string | null }>`SELECT summary, CASE WHEN summary IS NULL THEN doc END AS doc FROM backfills ORDER BY created_at DESC LIMIT ${limit}`.map((row) =>
      row.summary ? (JSON.parse(row.summary) as BackfillSummary) : summarizeBackfill(JSON.parse(row.doc) as Backfill),
    );
  }
}
