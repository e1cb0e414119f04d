import { UploadRefused, type StoredUpload, type UploadedFile } from "../kind";
import type { R2Source } from "./config";
import { globRegExp } from "./glob";
import { prefixOf } from "./read";

/** A file name as a key under the prefix: relative, no empty or dot segments, no control characters, matching the glob. */
export function uploadNameProblem(source: R2Source, name: string): string | null {
  if (name.length === 0 || name.length > 512) return "must be 1 to 512 characters";
  if (/[\u0000-\u001f\u007f]/.test(name)) return "may not hold control characters";
  if (name.startsWith("/") || name.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) return 'must be a relative path without empty, "." or ".." parts';
  if (!globRegExp(source.match).test(name)) return `does not match the source's files (${source.match}), so it would never be read`;
  return null;
}

/** Streams an uploaded file into the source's bucket under its prefix, where the next run finds it. */
export async function uploadToR2(source: R2Source, file: UploadedFile): Promise<StoredUpload> {
  const problem = uploadNameProblem(source, file.name);
  if (problem) throw new UploadRefused(`the file name ${JSON.stringify(file.name.slice(0, 200))} ${problem}`);
  const bucket = file.env[source.bucket] as R2Bucket;
  const key = `${prefixOf(source, file.runValues)}${file.name}`;
  const stored = await bucket.put(key, file.body, file.contentType ? { httpMetadata: { contentType: file.contentType } } : undefined);
  return { key, etag: stored!.etag, size: stored!.size, uri: `r2://${source.bucket}/${key}` };
}
