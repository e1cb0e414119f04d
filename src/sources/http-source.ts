import type { HttpSource } from "../config/settings";
import { classifyHttpStatus, StageFailure } from "../domain/failures";
import { csvRecords } from "./formats/csv-records";
import { jsonRecords } from "./formats/json-records";
import { ndjsonRecords } from "./formats/ndjson-records";
import { nextLink } from "./link-header";
import { PayloadError, type SourceItem } from "./source-items";

export interface PagesRead {
  pages: number;
  /** The page limit stopped the read while the source still offered a next page. */
  truncated: boolean;
  firstUrl: string;
}

export interface HttpReadOptions {
  secrets: Record<string, unknown>;
  /** Query value for the first page, when the pipeline uses a watermark. */
  watermark: { param: string; value: string } | null;
  /** Columns a CSV header must have (the mapped id, value and timestamp). */
  requiredColumns: string[];
  signal: AbortSignal;
}

/**
 * Reads every page of an HTTP source as a stream of items. Failures say whether another try could help:
 * no answer, a timeout, 408/429/5xx or a body that broke off are transient; other statuses and bad
 * payloads are not. The timeout applies to waiting: for the headers, and between chunks of the body.
 */
export async function* readHttpSource(source: HttpSource, options: HttpReadOptions): AsyncGenerator<SourceItem[], PagesRead> {
  const headers = resolveHeaders(source, options.secrets);
  let url = firstPageUrl(source.url, options.watermark);
  const firstUrl = url;
  const visited = new Set<string>();
  for (let page = 1; ; page += 1) {
    visited.add(url);
    const response = await fetchPage(source, url, headers, options.signal);
    const idle = response.idle;
    let fieldValue: () => unknown = () => undefined;
    let items: AsyncGenerator<SourceItem[]>;
    const body = response.body;
    switch (source.format) {
      case "json": {
        const pageField = source.pagination.type === "next-url-field" || source.pagination.type === "cursor-field" ? source.pagination.field : null;
        const json = jsonRecords(body, source.recordsPath, pageField);
        items = json.items;
        fieldValue = json.pageField;
        break;
      }
      case "ndjson":
        items = ndjsonRecords(body);
        break;
      case "csv":
        items = csvRecords(body, source.csvDelimiter, options.requiredColumns);
        break;
    }
    try {
      for await (const batch of items) yield batch;
    } catch (error) {
      throw asFailure(error, source, options.signal, idle);
    } finally {
      idle.stop();
    }

    const next = nextPageUrl(source, url, response.link, fieldValue());
    if (next === null) return { pages: page, truncated: false, firstUrl };
    if (visited.has(next)) throw new StageFailure(`the source ${source.name} sent a next page it had already sent (${next})`, "permanent");
    if (page >= source.maxPages) return { pages: page, truncated: true, firstUrl };
    url = next;
  }
}

interface Page {
  body: ReadableStream<Uint8Array>;
  link: string | null;
  idle: IdleTimer;
}

async function fetchPage(source: HttpSource, url: string, headers: Headers, signal: AbortSignal): Promise<Page> {
  const idle = new IdleTimer(source.timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.any([signal, idle.signal]) });
  } catch (error) {
    idle.stop();
    if (signal.aborted) throw signal.reason;
    if (idle.signal.aborted) throw new StageFailure(`the source ${url} did not answer within ${source.timeoutMs} ms`, "transient");
    // fetch() only throws when there was no HTTP answer at all: a network problem, worth another try.
    throw new StageFailure(`could not reach the source ${url}: ${error instanceof Error ? error.message : String(error)}`, "transient");
  }
  if (!response.ok) {
    idle.stop();
    await response.body?.cancel();
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    throw new StageFailure(`the source ${url} answered HTTP ${status}`, classifyHttpStatus(response.status));
  }
  idle.touch();
  const raw = response.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
  // Every chunk of the body counts as activity for the idle timeout.
  const body = raw.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        idle.touch();
        controller.enqueue(chunk);
      },
    }),
  );
  return { body, link: response.headers.get("link"), idle };
}

function asFailure(error: unknown, source: HttpSource, signal: AbortSignal, idle: IdleTimer): unknown {
  if (signal.aborted) return signal.reason;
  if (idle.signal.aborted) return new StageFailure(`the source ${source.url} sent no data for ${source.timeoutMs} ms`, "transient");
  if (error instanceof StageFailure) return error;
  if (error instanceof PayloadError) return new StageFailure(`${error.message} (source ${source.url})`, "permanent");
  const detail = error instanceof Error ? error.message : String(error);
  return new StageFailure(`the source ${source.url} broke off its answer: ${detail}`, "transient");
}

function nextPageUrl(source: HttpSource, current: string, link: string | null, field: unknown): string | null {
  switch (source.pagination.type) {
    case "none":
      return null;
    case "link-header":
      return nextLink(link, current);
    case "next-url-field":
      if (typeof field !== "string" || field === "") return null;
      try {
        return new URL(field, current).toString();
      } catch {
        throw new StageFailure(`the next page of source ${source.name} is not a URL: ${JSON.stringify(field).slice(0, 100)}`, "permanent");
      }
    case "cursor-field": {
      if ((typeof field !== "string" && typeof field !== "number") || field === "") return null;
      const next = new URL(current);
      next.searchParams.set(source.pagination.param, String(field));
      return next.toString();
    }
  }
}

function firstPageUrl(url: string, watermark: HttpReadOptions["watermark"]): string {
  if (!watermark) return url;
  const first = new URL(url);
  first.searchParams.set(watermark.param, watermark.value);
  return first.toString();
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Fills `{{NAME}}` from the Worker's secrets at request time, so secret values are never stored with a run. */
export function resolveHeaders(source: HttpSource, secrets: Record<string, unknown>): Headers {
  const headers = new Headers({ accept: acceptFor(source.format) });
  for (const [name, template] of Object.entries(source.headers)) {
    const value = template.replace(PLACEHOLDER, (_, secret: string) => {
      const found = secrets[secret];
      if (typeof found !== "string" || found === "") {
        throw new StageFailure(`the secret ${secret} used in the ${name} header of source ${source.name} is not set (npx wrangler secret put ${secret})`, "permanent");
      }
      return found;
    });
    headers.set(name, value);
  }
  return headers;
}

function acceptFor(format: HttpSource["format"]): string {
  switch (format) {
    case "json":
      return "application/json";
    case "ndjson":
      return "application/x-ndjson, application/jsonl, application/json";
    case "csv":
      return "text/csv";
  }
}

/** Aborts when nothing happened for `ms`: waiting for headers, or between chunks of a body. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly ms: number) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new StageFailure(`no data from the source for ${this.ms} ms`, "transient")), this.ms);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
