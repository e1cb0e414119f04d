import { JSONParser } from "@streamparser/json";
import { describeType } from "../../domain/numbers";
import { PayloadError, sniff, type SourceItem } from "../source-items";

export interface JsonPage {
  items: AsyncGenerator<SourceItem[]>;
  /** After `items` is exhausted: the value of the pagination field, if one was asked for. */
  pageField(): unknown;
}

/**
 * Streams the records of a JSON body: either the body is an array of records, or the records are the
 * array at `recordsPath` of an object (and `pageField`, if given, is read beside it). Records are parsed
 * one by one as bytes arrive, so the payload is never held whole.
 */
export function jsonRecords(body: ReadableStream<Uint8Array>, recordsPath: string, pageField: string | null): JsonPage {
  let fieldValue: unknown;
  async function* items(): AsyncGenerator<SourceItem[]> {
    const { first, stream } = await sniff(body);
    if (first === null) throw new PayloadError("the source answered with an empty body");
    if (first === "<") throw new PayloadError("the source answered with HTML or XML, not JSON");
    if (recordsPath === "" && first !== "[") {
      throw new PayloadError(`the source must answer with a JSON array of records, got ${first === "{" ? "object" : describeFirst(first)}`);
    }
    if (recordsPath !== "" && first !== "{") {
      throw new PayloadError(`the source must answer with a JSON object holding the records at "${recordsPath}", got ${first === "[" ? "array" : describeFirst(first)}`);
    }
    const paths = recordsPath === "" ? ["$.*"] : [`$.${recordsPath}.*`, ...(pageField ? [`$.${pageField}`] : [])];
    const parser = new JSONParser({ paths, keepStack: false });
    let batch: SourceItem[] = [];
    parser.onValue = ({ value, key }) => {
      // Elements of the records array have numeric keys; the pagination field has its name.
      if (typeof key === "number") batch.push({ ok: true, record: value });
      else fieldValue = value;
    };
    const reader = stream.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        try {
          parser.write(value);
        } catch (error) {
          throw new PayloadError(`the source answered with malformed JSON: ${message(error)}`);
        }
        if (batch.length > 0) {
          yield batch;
          batch = [];
        }
      }
      // The parser ends by itself when the root value closes; ending it earlier means the body stopped short.
      if (!parser.isEnded) {
        try {
          parser.end();
        } catch (error) {
          throw new PayloadError(`the source answered with truncated JSON (${message(error)})`);
        }
        throw new PayloadError("the source answered with truncated JSON");
      }
      if (batch.length > 0) yield batch;
    } finally {
      reader.releaseLock();
    }
  }
  return { items: items(), pageField: () => fieldValue };
}

function describeFirst(first: string): string {
  if (first === '"') return "string";
  if (first === "n") return "null";
  if (first === "t" || first === "f") return "boolean";
  if (/[-\d]/.test(first)) return "number";
  return describeType(first);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
