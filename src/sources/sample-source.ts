import type { SampleData } from "../engine/define-pipeline";
import { csvRecords } from "./formats/csv-records";
import { jsonRecords } from "./formats/json-records";
import { ndjsonRecords } from "./formats/ndjson-records";
import type { SourceItem } from "./source-items";

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
  const body = new Blob([sample.text]).stream();
  const items =
    sample.format === "csv"
      ? csvRecords(body, { delimiter: ",", requiredColumns: options.csvColumns, quoteErrors: "fail", maxRecordLines: 1, maxRecordBytes: options.maxRecordBytes, signal: options.signal })
      : sample.format === "ndjson"
        ? ndjsonRecords(body, { maxRecordBytes: options.maxRecordBytes, signal: options.signal })
        : jsonRecords(body, { recordsPath: "", pageField: null, maxRecordBytes: options.maxRecordBytes, signal: options.signal }).items;
  for await (const batch of items) yield batch;
  return { pages: 1, truncated: false, firstUrl: null };
}
