import { StageFailure } from "../../domain/failures";
import { readBody } from "../formats";
import type { ReadPlan, SourceObject, SourceRead, SourceReadContext } from "../kind";
import { fillPlaceholders } from "../placeholders";
import type { SourceItem } from "../source-items";
import type { R2Source } from "./config";
import { globRegExp } from "./glob";
import { claimObjects, committedObjects, ledgerKey } from "./ledger";
import { shareObjects, type ListedObject } from "./shares";

export function bucketOf(source: R2Source, env: Readonly<Record<string, unknown>>): R2Bucket {
  const bucket = env[source.bucket] as R2Bucket | undefined;
  if (!bucket || typeof (bucket as { list?: unknown }).list !== "function") throw new StageFailure(`source ${source.name}: the Worker has no R2 binding ${source.bucket}`, "permanent");
  return bucket;
}

/** The run's prefix: placeholders filled with the run's slot and params. */
export function prefixOf(source: R2Source, runValues: Readonly<Record<string, string>>): string {
  return fillPlaceholders(source.prefix, (name) => runValues[name] ?? "");
}

/**
 * Lists the prefix (in key order, as R2 lists), keeps what the glob matches, passes over what the ledger
 * says an earlier run has read (unless the run rereads), and shares the rest out between readers.
 */
export async function planR2Read(source: R2Source, context: SourceReadContext): Promise<ReadPlan> {
  const bucket = bucketOf(source, context.env);
  const prefix = prefixOf(source, context.runValues);
  const match = globRegExp(source.match);
  const listed: ListedObject[] = [];
  let cursor: string | undefined;
  do {
    context.signal.throwIfAborted();
    const page = await bucket.list({ prefix, cursor, limit: 1000 });
    for (const object of page.objects) if (match.test(object.key.slice(prefix.length))) listed.push({ key: object.key, etag: object.etag, size: object.size });
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  const committed = context.reread ? new Map<string, string>() : await committedObjects(context.env.DB as D1Database, context.pipeline, source.name, prefix);
  const passedOver: SourceObject[] = [];
  const toRead: ListedObject[] = [];
  for (const object of listed) {
    const readBy = committed.get(ledgerKey(object.key, object.etag));
    if (readBy === undefined) toRead.push(object);
    else passedOver.push({ ...object, records: null, firstPosition: null, skipped: `read by ${readBy}` });
  }
  return { shares: shareObjects(toRead, source.readers, source.objectsPerReader), passedOver };
}

/**
 * Reads this reader's objects one after another, each streamed through its format's parser (a file never
 * held whole), and notes them in the ledger as read by this run once all are read. An object that
 * changed or went away since it was listed is not read (the next run reads it as it is then).
 */
export async function* readR2Objects(source: R2Source, context: SourceReadContext): AsyncGenerator<SourceItem[], SourceRead> {
  const bucket = bucketOf(source, context.env);
  const share = (context.share ?? (await planR2Read(source, context)).shares.flat()) as ListedObject[];
  const objects: SourceObject[] = [];
  let position = 0;
  for (const listed of share) {
    context.signal.throwIfAborted();
    const object = await bucket.get(listed.key, { onlyIf: { etagMatches: listed.etag } });
    if (object === null || !("body" in object)) {
      objects.push({ ...listed, records: null, firstPosition: null, skipped: "changed or removed after it was listed; the next run reads it as it is then" });
      continue;
    }
    const first = position;
    const { items } = readBody(object.body, source, { requiredColumns: context.requiredColumns, maxRecordBytes: context.maxRecordBytes, signal: context.signal });
    try {
      for await (const batch of items) {
        position += batch.length;
        // Input that cannot be a record says which file it is in.
        yield batch.map((item) => (item.ok ? item : { ...item, reason: `${listed.key}: ${item.reason}` }));
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw error instanceof StageFailure ? new StageFailure(`${listed.key}: ${message}`, error.kind, error.retryAfterMs) : new StageFailure(`${listed.key}: ${message}`, "permanent");
    }
    objects.push({ ...listed, records: position - first, firstPosition: first });
  }
  const read = objects.filter((object) => object.records !== null);
  await claimObjects(context.env.DB as D1Database, context.pipeline, source.name, context.runId, read.map((object) => ({ key: object.key, etag: object.etag, size: object.size, records: object.records! })), Date.now());
  return { pages: read.length, truncated: false, firstUrl: null, objects };
}
