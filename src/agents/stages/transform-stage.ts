import { rawForStorage, type Rejection, type RejectionSummary } from "../../domain/records";
import { MAX_REJECTED_IN_RUN, type StageReport } from "../../domain/run";
import { transformRecord, type TransformResult } from "../../domain/transform";
import { ChunkWriter, readStaged } from "../../staging/staging-store";
import { StageAgent } from "./stage-agent";
import type { StageContext, StageTask } from "./stage-task";

/**
 * Validates and categorises every extracted record; refused records are staged with their reason.
 * Duplicate ids within a run are caught with this instance's own SQLite table rather than an in-memory
 * set, so memory stays flat however many records a run has; the first occurrence wins.
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
      for (const [index, raw] of chunk.records.entries()) {
        inputCount += 1;
        const position = chunk.offset + index;
        const result = this.withoutDuplicates(transformRecord(raw, thresholds), task.attempt, position);
        if (result.ok) {
          await cleaned.add(result.record);
          continue;
        }
        const rejection: Rejection = { position, id: result.id, stage: "transform", reason: result.reason, raw: rawForStorage(raw) };
        await refused.add(rejection);
        if (sample.length < MAX_REJECTED_IN_RUN) sample.push({ id: result.id, stage: "transform", reason: result.reason });
      }
      progress({ inputCount, outputCount: cleaned.written, rejectedCount: refused.written });
    }

    const output = await cleaned.finish();
    const rejected = await refused.finish();
    return { inputCount, outputCount: output.count, rejectedCount: rejected.count, output, rejected, rejectedSample: sample };
  }

  private withoutDuplicates(result: TransformResult, attempt: number, position: number): TransformResult {
    if (!result.ok) return result;
    const id = result.record.id;
    const inserted = this.ctx.storage.sql.exec(
      "INSERT INTO seen_ids (attempt, id, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
      attempt,
      id,
      position,
    ).rowsWritten;
    if (inserted > 0) return result;
    const [first] = this.sql<{ position: number }>`SELECT position FROM seen_ids WHERE attempt = ${attempt} AND id = ${id}`;
    return { ok: false, id, reason: `duplicate id ${JSON.stringify(id)} (first seen at position ${first?.position ?? "?"})` };
  }
}
