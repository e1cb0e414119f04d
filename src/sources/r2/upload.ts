import { UploadRefused, type StoredUpload, type UploadedFile } from "../kind";
import type { R2Source } from "./config";
import { globRegExp } from "./glob";
import { placeholderNames } from "../placeholders";
import { prefixOf } from "./read";

/** R2's longest object key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/** A file name as a key under the prefix: relative, no empty or dot segments, no control characters, matching the glob. */
export function uploadNameProblem(source: R2Source, name: string, prefix: string): string | null {
  if (name.length === 0 || name.length > 512) return "must be 1 to 512 characters";
  const bytes = new TextEncoder().encode(prefix + name).length;
  if (bytes > MAX_KEY_BYTES) return `makes a key of ${bytes} bytes under the prefix ${JSON.stringify(prefix)}; R2 takes at most ${MAX_KEY_BYTES}`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return "may not hold control characters";
  if (name.startsWith("/") || name.split("/").some((segment) => segment === "" || segment === "." || segment === "..")) return 'must be a relative path without empty, "." or ".." parts';
  if (!globRegExp(source.match).test(name)) return `does not match the source's files (${source.match}), so it would never be read`;
  return null;
}

/** Streams an uploaded file into the source's bucket under its prefix, where the next run finds it. */
export async function uploadToR2(source: R2Source, file: UploadedFile): Promise<StoredUpload> {
  // A prefix placeholder without a value (a param with no default) would put the file where no run looks.
  const unfilled = placeholderNames(source.prefix).filter((name) => (file.runValues[name] ?? "") === "");
  if (unfilled.length > 0) throw new UploadRefused(`the source's prefix ${source.prefix} uses {{${unfilled[0]}}}, which has no value for an upload (give the param a default)`);
  const prefix = prefixOf(source, file.runValues);
  const problem = uploadNameProblem(source, file.name, prefix);
  if (problem) throw new UploadRefused(`the file name ${JSON.stringify(file.name.slice(0, 200))} ${problem}`);
  const bucket = file.env[source.bucket] as R2Bucket;
  const key = `${prefix}${file.name}`;
  const stored = await bucket.put(key, file.body, file.contentType ? { httpMetadata: { contentType: file.contentType } } : undefined);
  return { key, etag: stored!.etag, size: stored!.size, uri: `r2://${source.bucket}/${key}` };
}
