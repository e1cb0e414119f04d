import type { ObjectState } from "../../domain/object-admission";
import type { ObjectStatesContext } from "../kind";
import type { R2Source } from "./config";
import { globRegExp } from "./glob";
import { committedAmong, ledgerKey } from "./ledger";
import { bucketOf, prefixOf } from "./read";

/** Objects looked up side by side at most (one `head` each). */
const HEADS_AT_ONCE = 32;

/**
 * Each notified object as a run started now would find it: outside the run's prefix or glob (it would
 * not read it), read by a run that succeeded (the ledger), gone, changed (another etag: overwritten, or
 * this notification is older than one already seen), or there as notified.
 */
export async function r2ObjectStates(source: R2Source, context: ObjectStatesContext, objects: readonly { key: string; etag: string }[]): Promise<ObjectState[]> {
  const prefix = prefixOf(source, context.runValues);
  const match = globRegExp(source.match);
  const committed = await committedAmong(context.env.DB as D1Database, context.pipeline, source.name, objects);
  const bucket = bucketOf(source, context.env);
  const states: ObjectState[] = new Array(objects.length);
  for (let start = 0; start < objects.length; start += HEADS_AT_ONCE) {
    await Promise.all(
      objects.slice(start, start + HEADS_AT_ONCE).map(async (object, offset) => {
        states[start + offset] = await stateOf(object, { prefix, match, readBy: committed.get(ledgerKey(object.key, object.etag)), bucket, source });
      }),
    );
  }
  return states;
}

async function stateOf(object: { key: string; etag: string }, where: { prefix: string; match: RegExp; readBy: string | undefined; bucket: R2Bucket; source: R2Source }): Promise<ObjectState> {
  if (!object.key.startsWith(where.prefix)) return { state: "outside", reason: `not under the source's prefix ${JSON.stringify(where.prefix)}, so its run would not read it` };
  if (!where.match.test(object.key.slice(where.prefix.length))) return { state: "outside", reason: `does not match the source's files (${where.source.match}), so its run would not read it` };
  if (where.readBy !== undefined) return { state: "read", runId: where.readBy };
  const head = await where.bucket.head(object.key);
  if (head === null) return { state: "missing" };
  return head.etag === object.etag ? { state: "current" } : { state: "changed", etag: head.etag };
}
