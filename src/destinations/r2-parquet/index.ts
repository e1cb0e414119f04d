import { destinationKind } from "../kind";
import { MANIFEST, readManifest } from "./manifest";
import { ParquetDestinationSchema, type ParquetDeclared, type ParquetDestination } from "./settings";
import { ParquetWriter, partitionOf, partitionsOf } from "./writer";

function uri(bucket: string, path: string): string {
  return `r2://${bucket}/${path}`;
}

function bucketOf(settings: Pick<ParquetDestination, "bucket">, env: Readonly<Record<string, unknown>>): R2Bucket | null {
  const bucket = env[settings.bucket] as R2Bucket | undefined;
  return bucket && typeof (bucket as { put?: unknown }).put === "function" ? bucket : null;
}

/**
 * `{ type: "r2-parquet", bucket, path, partitionBy }`: a Parquet dataset on R2, Hive-partitioned, each
 * partition committed by its manifest (see writer.ts), an upsert on the key within a partition.
 */
export const parquetDestination = destinationKind<ParquetDestination, typeof ParquetDestinationSchema>({
  type: "r2-parquet",
  schema: ParquetDestinationSchema,
  store: "R2",
  carriesCompanions: false,
  problems(declared: ParquetDeclared, columns) {
    const problems: string[] = [];
    if (typeof declared.partitionBy === "string" && !columns.includes(declared.partitionBy)) problems.push(`destination.partitionBy names ${declared.partitionBy}, which is not a column`);
    return problems;
  },
  resolve(declared, common, env) {
    if (env[declared.bucket] === undefined || typeof env[declared.bucket] === "string") return { ok: false, errors: [`destination.bucket ${declared.bucket} is not an R2 binding of this Worker (add it to r2_buckets in wrangler.jsonc)`] };
    const partitionBy = declared.partitionBy === undefined ? null : typeof declared.partitionBy === "string" ? { column: declared.partitionBy } : declared.partitionBy;
    return { ok: true, settings: { kind: "r2-parquet", bucket: declared.bucket, path: declared.path, partitionBy, rowsPerFile: declared.rowsPerFile, ...common, uri: uri(declared.bucket, declared.path) } };
  },
  uriOf: (declared) => uri(declared.bucket, declared.path),
  label: (settings) => `the dataset ${settings.path}`,
  bucketKey: (settings, values, slotDate) => partitionOf(settings, values, slotDate),
  writer: (settings, context) => new ParquetWriter(settings, context),
  async rowsOfRun(settings, context) {
    const bucket = bucketOf(settings, context.env);
    if (!bucket) return 0;
    let rows = 0;
    for (const partition of await partitionsOf(bucket, settings.path)) {
      const manifest = await readManifest(bucket, `${partition === "" ? settings.path : `${settings.path}/${partition}`}/${MANIFEST}`);
      for (const file of manifest?.files ?? []) rows += file.runs[context.runId] ?? 0;
    }
    return rows;
  },
  async contents(settings, env) {
    const bucket = bucketOf(settings, env)!;
    const partitions = [];
    for (const name of await partitionsOf(bucket, settings.path)) {
      const manifest = await readManifest(bucket, `${name === "" ? settings.path : `${settings.path}/${name}`}/${MANIFEST}`);
      if (!manifest) continue; // a folder without a manifest holds nothing committed
      partitions.push({
        name,
        rows: manifest.files.reduce((sum, file) => sum + file.rows, 0),
        runId: manifest.runId,
        committedAt: manifest.committedAt,
        files: manifest.files.map(({ key, rows, bytes }) => ({ key, rows, bytes })),
      });
    }
    return { uri: settings.uri, partitions };
  },
  async file(settings, env, key) {
    // Only files under the dataset's folder: the route cannot be used to read the rest of the bucket.
    if (!key.startsWith(`${settings.path}/`) || !key.endsWith(".parquet") || key.split("/").some((part) => part === "..") || new TextEncoder().encode(key).length > 1024) return null;
    const object = await bucketOf(settings, env)?.get(key);
    return object ? { body: object.body, size: object.size, contentType: "application/vnd.apache.parquet" } : null;
  },
  async diagnose(settings, env) {
    return bucketOf(settings, env) ? null : `the R2 binding ${settings.bucket} of the dataset ${settings.path} is missing from this Worker (add it to r2_buckets in wrangler.jsonc)`;
  },
});
