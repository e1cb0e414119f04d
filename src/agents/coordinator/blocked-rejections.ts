import { saveRejections } from "../../db/rejections";
import type { Rejection } from "../../domain/records";
import type { Run } from "../../domain/run";
import { readStaged } from "../../staging/staging-store";

/**
 * A run its checks blocked writes no row, but its rejected records are facts about its batch whatever the
 * checks say (often the very reason it was blocked): they go to rejected_records under the run's id, chunk
 * by chunk, as a load would have written them. Keyed by position, so writing them again (a resumed judge)
 * changes nothing; a retry that loads the batch writes them under its own id, as every retry does.
 */
export async function saveBlockedRejections(env: Env, run: Run, now: number): Promise<number> {
  let saved = 0;
  for (const stage of run.stages) {
    if (stage.name === "load") break;
    const staged = run.checkpoints[stage.name]?.rejected;
    if (!staged || staged.count === 0) continue;
    for await (const chunk of readStaged(env.STAGING, staged)) saved += await saveRejections(env.DB, run.pipeline, run.runId, chunk.records as Rejection[], now);
  }
  return saved;
}
