/**
 * A partition's manifest (`<partition>/_manifest.json`): the files that are the partition now. A write puts
 * its new files first and then the manifest, in one put, so a reader that goes by the manifest sees the
 * partition before the write or after it, never half of it; files the manifest no longer names are then
 * deleted. Each file says how many of its rows each run wrote, so what a run wrote can be counted.
 */
export interface PartitionManifest {
  format: "scheduled-pipeline.parquet-partition/1";
  partition: string;
  /** The run whose load committed this version, and when. */
  runId: string;
  committedAt: number;
  files: ManifestFile[];
}

export interface ManifestFile {
  /** The object key in the bucket. */
  key: string;
  rows: number;
  bytes: number;
  /** Rows per run that wrote them. */
  runs: Record<string, number>;
}

export const MANIFEST = "_manifest.json";

export async function readManifest(bucket: R2Bucket, key: string): Promise<PartitionManifest | null> {
  const object = await bucket.get(key);
  if (!object) return null;
  return (await object.json()) as PartitionManifest;
}
