import { fingerprint as defaultFingerprint } from "../../domain/fingerprint";
import type { StagedRecord } from "../../domain/records";

export interface DuplicateSplit {
  fresh: StagedRecord[];
  repeated: { record: StagedRecord; first: number }[];
}

/**
 * The ids a load agent has seen in one attempt, in its own SQLite, so memory stays flat however many
 * records a run has. Records must arrive in position order; the first occurrence of an id wins.
 *
 * Ids are keyed by their fingerprint, SQLite's cheapest key (the integer rowid), with the id stored
 * beside it. A fingerprint hit compares the ids; two different ids that share a fingerprint are decided
 * exactly in a second table keyed by the id itself. One statement per chunk, not per record.
 */
export class SeenIds {
  private readonly seen: string;
  private readonly collisions: string;

  constructor(
    private readonly sql: SqlStorage,
    attempt: number,
    private readonly fingerprint: (id: string) => number = defaultFingerprint,
  ) {
    this.seen = `seen_${attempt}`;
    this.collisions = `seen_${attempt}_collisions`;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ${this.seen} (h INTEGER PRIMARY KEY, id TEXT NOT NULL, position INTEGER NOT NULL)`);
  }

  split(records: StagedRecord[]): DuplicateSplit {
    const firstInChunk = new Map<string, number>();
    for (const record of records) if (!firstInChunk.has(record.id)) firstInChunk.set(record.id, record.position);
    const candidates = [...firstInChunk].map(([id, p]) => ({ h: this.fingerprint(id), id, p }));
    const inserted = new Set(
      this.sql
        .exec<{ id: string }>(
          `INSERT INTO ${this.seen} (h, id, position) SELECT value ->> 'h', value ->> 'id', value ->> 'p' FROM json_each(?) WHERE true
           ON CONFLICT (h) DO NOTHING RETURNING id`,
          JSON.stringify(candidates),
        )
        .toArray()
        .map((row) => row.id),
    );
    const earlier = new Map<string, number>();
    const missed = candidates.filter((candidate) => !inserted.has(candidate.id));
    if (missed.length > 0) {
      const stored = new Map<number, { id: string; position: number }>();
      for (const row of this.sql.exec<{ h: number; id: string; position: number }>(
        `SELECT h, id, position FROM ${this.seen} WHERE h IN (SELECT value FROM json_each(?))`,
        JSON.stringify(missed.map((candidate) => candidate.h)),
      )) {
        stored.set(row.h, { id: row.id, position: row.position });
      }
      for (const candidate of missed) {
        const hit = stored.get(candidate.h);
        if (hit?.id === candidate.id) earlier.set(candidate.id, hit.position);
        else if (this.claimCollision(candidate.id, candidate.p)) inserted.add(candidate.id);
        else earlier.set(candidate.id, this.collisionPosition(candidate.id));
      }
    }
    const fresh: StagedRecord[] = [];
    const repeated: DuplicateSplit["repeated"] = [];
    for (const record of records) {
      const first = earlier.get(record.id) ?? firstInChunk.get(record.id)!;
      if (first === record.position && inserted.has(record.id)) fresh.push(record);
      else repeated.push({ record, first });
    }
    return { fresh, repeated };
  }

  /** A different id with the same fingerprint: true if this id is new. */
  private claimCollision(id: string, position: number): boolean {
    this.sql.exec(`CREATE TABLE IF NOT EXISTS ${this.collisions} (id TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID`);
    return this.sql.exec(`INSERT INTO ${this.collisions} (id, position) VALUES (?, ?) ON CONFLICT DO NOTHING`, id, position).rowsWritten > 0;
  }

  private collisionPosition(id: string): number {
    return this.sql.exec<{ position: number }>(`SELECT position FROM ${this.collisions} WHERE id = ?`, id).one().position;
  }
}
