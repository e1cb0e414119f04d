import type { SampleData } from "../../engine/define-pipeline";
import { readBody } from "../formats";
import type { SourceItem } from "../source-items";

export interface SampleOptions {
  csvColumns: string[];
  maxRecordBytes: number;
  signal: AbortSignal;
}

/**
 * A pipeline's built-in sample, read like a source: records as they are, or a body in one of the source
 * formats, through the same parser a real source goes through.
 */
export async function* readSample(sample: SampleData, options: SampleOptions): AsyncGenerator<SourceItem[], { pages: number; truncated: boolean; firstUrl: null }> {
  if ("records" in sample) {
    yield sample.records.map((record) => ({ ok: true, record }));
    return { pages: 1, truncated: false, firstUrl: null };
  }
  const format = { format: sample.format, recordsPath: "", csvDelimiter: ",", csvQuoteErrors: "fail", csvMaxRecordLines: 1 } as const;
  const { items } = readBody(new Blob([sample.text]).stream(), format, { requiredColumns: options.csvColumns, maxRecordBytes: options.maxRecordBytes, signal: options.signal });
  for await (const batch of items) yield batch;
  return { pages: 1, truncated: false, firstUrl: null };
}
