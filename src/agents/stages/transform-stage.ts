import { rawForStorage, type Rejection, type RejectionSummary } from "../../domain/records";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/run";
import { transformRecord, type TransformResult } from "../../domain/transform";
import { ChunkWriter, readStaged } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";
import { yieldToEventLoop } from "./yield";

/**
 * Validates and categorises every extracted record; refused records are staged with their reason.
 *
 * Duplicate ids within a run are caught with this instance's own SQLite table rather than an in-memory
 * set, so memory stays flat however many records a run has. The first occurrence wins. A chunk's ids go
 * in with one statement (`json_each` over the chunk, `RETURNING` what was new), not one per record.
 */
export class TransformStage extends StageAgent {
  protected async perform(task: StageTask, { signal, progress }: StageContext): Promise<StageReport> {
    const { chunkRecords, thresholds } = task.settings;
    const cleaned = new ChunkWriter(this.env.STAGING, task.runId, "transform", task.attempt, "part", chunkRecords);
    const refused = new ChunkWriter(this.env.STAGING, task.runId, "transform", task.attempt, "rejected", chunkRecords);
    const sample: RejectionSummary[] = [];
    let inputCount = 0;
    this.sql`CREATE TABLE IF NOT EXISTS seen_ids (attempt INTEGER NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (attempt, id))`;

    for await (const chunk of readStaged(this.env.STAGING, task.input.records)) {
      signal.throwIfAborted();
      const results = this.withoutDuplicates(
        chunk.records.map((raw) => transformRecord(raw, thresholds)),
        task.attempt,
        chunk.offset,
      );
      for (const [index, result] of results.entries()) {
        if (result.ok) {
          await cleaned.add(result.record);
          continue;
        }
        const raw = chunk.records[index];
        const rejection: Rejection = { position: chunk.offset + index, id: result.id, stage: "transform", reason: result.reason, raw: rawForStorage(raw) };
        await refused.add(rejection);
        if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ id: result.id, stage: "transform", reason: result.reason });
      }
      inputCount += chunk.records.length;
      progress({ inputCount, outputCount: cleaned.written, rejectedCount: refused.written });
      await yieldToEventLoop();
    }

    const output = await cleaned.finish();
    const rejected = await refused.finish();
    return { inputCount, outputCount: output.count, rejectedCount: rejected.count, output, rejected, rejectedSample: sample };
  }

  /** Turns the second and later occurrences of an id (in this chunk or an earlier one) into rejections. */
  private withoutDuplicates(results: TransformResult[], attempt: number, offset: number): TransformResult[] {
    const firstInChunk = new Map<string, number>();
    const candidates: { id: string; p: number }[] = [];
    for (const [index, result] of results.entries()) {
      if (!result.ok || firstInChunk.has(result.record.id)) continue;
      firstInChunk.set(result.record.id, offset + index);
      candidates.push({ id: result.record.id, p: offset + index });
    }
    if (candidates.length === 0) return results;
    const fresh = new Set(
      this.ctx.storage.sql
        .exec<{ id: string }>(
          `INSERT INTO seen_ids (attempt, id, position)
           SELECT ?, value ->> 'id', value ->> 'p' FROM json_each(?) WHERE true
           ON CONFLICT DO NOTHING RETURNING id`,
          attempt,
          JSON.stringify(candidates),
        )
        .toArray()
        .map((row) => row.id),
    );
    const earlier = new Map<string, number>();
    const seenBefore = candidates.filter((candidate) => !fresh.has(candidate.id)).map((candidate) => candidate.id);
    if (seenBefore.length > 0) {
      for (const row of this.ctx.storage.sql.exec<{ id: string; position: number }>(
        "SELECT id, position FROM seen_ids WHERE attempt = ? AND id IN (SELECT value FROM json_each(?))",
        attempt,
        JSON.stringify(seenBefore),
      )) {
        earlier.set(row.id, row.position);
      }
    }
    return results.map((result, index) => {
      if (!result.ok) return result;
      const id = result.record.id;
      const first = earlier.get(id) ?? firstInChunk.get(id)!;
      if (first === offset + index && fresh.has(id)) return result;
      return { ok: false, id, reason: `duplicate id ${JSON.stringify(id)} (first seen at position ${first})` };
    });
  }
}
