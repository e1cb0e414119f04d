import { z } from "zod";
import type { SourceItem } from "../source-items";
import { CSV_QUOTE_POLICIES, csvRecords, type CsvQuotePolicy } from "./csv-records";
import { jsonRecords } from "./json-records";
import { ndjsonRecords } from "./ndjson-records";

/**
 * The formats a body of records may be in, and how one is read: shared by every source kind that reads
 * bytes (HTTP pages, objects in R2, a pipeline's sample text), so a CSV file reads the same wherever it is.
 */
export const SOURCE_FORMATS = ["json", "ndjson", "csv"] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** How a body is parsed. */
export interface FormatSettings {
  format: SourceFormat;
  /** JSON only: where the records array is, e.g. "data" for `{ "data": [...] }`. Empty: the body is the array. */
  recordsPath: string;
  csvDelimiter: string;
  csvQuoteErrors: CsvQuotePolicy;
  /** How many lines one CSV record may span (1: quoted fields hold no line breaks). */
  csvMaxRecordLines: number;
}

/** The declared form of FormatSettings, spread into a source kind's schema. */
export const formatShape = {
  format: z.enum(SOURCE_FORMATS).default("json"),
  recordsPath: z.string().max(200).default(""),
  csvDelimiter: z
    .string()
    .length(1, "must be one character")
    .refine((delimiter) => !/["\r\n]/.test(delimiter), { message: "may not be a quote or a line break" })
    .default(","),
  csvQuoteErrors: z.enum(CSV_QUOTE_POLICIES).default("fail"),
  csvMaxRecordLines: z.number().int().min(1).max(100_000).default(1),
};

export function formatSettings(declared: FormatSettings): FormatSettings {
  const { format, recordsPath, csvDelimiter, csvQuoteErrors, csvMaxRecordLines } = declared;
  return { format, recordsPath, csvDelimiter, csvQuoteErrors, csvMaxRecordLines };
}

export interface BodyOptions {
  /** Columns a CSV header must have. */
  requiredColumns: string[];
  maxRecordBytes: number;
  /** JSON: a field beside the records array to keep (a next-page link or cursor). */
  pageField?: string | null;
  signal: AbortSignal;
}

export interface BodyRead {
  items: AsyncGenerator<SourceItem[]>;
  /** JSON with a page field: its value, once the body is read. */
  pageField(): unknown;
}

/** Reads a body in its format as a stream of items (records, or input that cannot be one, in place). */
export function readBody(body: ReadableStream<Uint8Array>, settings: FormatSettings, options: BodyOptions): BodyRead {
  switch (settings.format) {
    case "json": {
      const json = jsonRecords(body, { recordsPath: settings.recordsPath, pageField: options.pageField ?? null, maxRecordBytes: options.maxRecordBytes, signal: options.signal });
      return { items: json.items, pageField: json.pageField };
    }
    case "ndjson":
      return { items: ndjsonRecords(body, { maxRecordBytes: options.maxRecordBytes, signal: options.signal }), pageField: () => undefined };
    case "csv":
      return {
        items: csvRecords(body, {
          delimiter: settings.csvDelimiter,
          requiredColumns: options.requiredColumns,
          quoteErrors: settings.csvQuoteErrors,
          maxRecordLines: settings.csvMaxRecordLines,
          maxRecordBytes: options.maxRecordBytes,
          signal: options.signal,
        }),
        pageField: () => undefined,
      };
  }
}

/** The check a schema's refinement makes: recordsPath means JSON. */
export function formatProblems(settings: Pick<FormatSettings, "format" | "recordsPath">): { path: string; message: string }[] {
  return settings.recordsPath !== "" && settings.format !== "json" ? [{ path: "recordsPath", message: 'recordsPath only applies to format "json"' }] : [];
}
