import { RESERVED_SECRETS, type HttpSource } from "./config";
import { classifyHttpStatus, parseRetryAfter, StageFailure } from "../../domain/failures";
import { REDACTED, redactText, showUrl } from "../../domain/redaction";
import { readBody } from "../formats";
import { nextLink } from "./link-header";
import { fillPlaceholders, isRunValue } from "../placeholders";
import { PayloadError, type SourceItem } from "../source-items";

export interface PagesRead {
  pages: number;
  /** The page limit stopped the read while the source still offered a next page. */
  truncated: boolean;
  /** The first page's URL as it may be shown: redacted. */
  firstUrl: string;
}

export interface HttpReadOptions {
  /** Values of the secrets this source declares, by name. Used in requests, and redacted everywhere else. */
  secrets: Readonly<Record<string, string>>;
  /** The run's `{{slot.*}}` and `{{params.*}}` values, by placeholder name. Not secret: shown as they are. */
  runValues: Readonly<Record<string, string>>;
  /** Query value for the first page, when the pipeline uses a watermark. */
  watermark: { param: string | null; value: string } | null;
  /** Columns a CSV header must have (the mapped id, value and timestamp). */
  requiredColumns: string[];
  maxRecordBytes: number;
  signal: AbortSignal;
}

/** Redirects followed per request; more is a failure. */
export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * Reads every page of an HTTP source as a stream of items. Failures say whether another try could help:
 * no answer, a timeout, 408/429/5xx or a body that broke off are transient; other statuses, bad payloads
 * and bad redirects are not. The timeout applies to waiting: for the headers, and between chunks of the body.
 *
 * Redirects are followed here, not by fetch: only to http(s), at most MAX_REDIRECTS, never in a loop. The
 * source's configured headers (its credentials) go only to the origin of its own URL: a redirect or a next
 * page elsewhere gets none of them, or is refused when the source says `crossOrigin: "refuse"`.
 */
export async function* readHttpSource(source: HttpSource, options: HttpReadOptions): AsyncGenerator<SourceItem[], PagesRead> {
  const secretValues = Object.values(options.secrets);
  const lookup = (name: string) => {
    if (!isRunValue(name)) return options.secrets[name] ?? "";
    const value = options.runValues[name] ?? "";
    // A URL reads "." and ".." (even percent-encoded) as directory steps: a param could walk the path.
    if (value === "." || value === "..") throw new StageFailure(`{{${name}}} is "${value}", which a URL reads as a directory step; refused`, "permanent");
    return value;
  };
  const show = (url: string) => showUrl(url, secretValues);
  const context: RequestContext = {
    source,
    secrets: secretValues,
    home: new URL(fillPlaceholders(source.url, (name) => encodeURIComponent(lookup(name)))).origin,
    headers: configuredHeaders(source, options.secrets),
    show,
    signal: options.signal,
  };
  let url = firstPageUrl(fillPlaceholders(source.url, (name) => encodeURIComponent(lookup(name))), options.watermark);
  // Shown from the template, so a secret's value never reaches the report in any encoding.
  const firstUrl = show(firstPageUrl(shownSourceUrl(source.url, options.runValues), options.watermark));
  const visited = new Set<string>();
  for (let page = 1; ; page += 1) {
    visited.add(url);
    const response = await fetchPage(context, url);
    const idle = response.idle;
    const pageField = source.pagination.type === "next-url-field" || source.pagination.type === "cursor-field" ? source.pagination.field : null;
    const { items, pageField: fieldValue } = readBody(response.body, source, { requiredColumns: options.requiredColumns, maxRecordBytes: options.maxRecordBytes, pageField, signal: options.signal });
    try {
      for await (const batch of items) yield batch;
    } catch (error) {
      throw asFailure(error, context, response.url, idle);
    } finally {
      idle.stop();
    }

    const next = nextPageUrl(source, response.url, response.link, fieldValue(), show);
    if (next === null) return { pages: page, truncated: false, firstUrl };
    if (visited.has(next)) throw new StageFailure(`the source ${source.name} sent a next page it had already sent (${show(next)})`, "permanent");
    if (page >= source.maxPages) return { pages: page, truncated: true, firstUrl };
    url = next;
  }
}

interface RequestContext {
  source: HttpSource;
  secrets: string[];
  /** The origin of the source's own URL: the only one its configured headers go to. */
  home: string;
  headers: Headers;
  show: (url: string) => string;
  signal: AbortSignal;
}

interface Page {
  body: ReadableStream<Uint8Array>;
  /** Where the body came from, after redirects: next pages resolve against it. */
  url: string;
  link: string | null;
  idle: IdleTimer;
}

async function fetchPage(context: RequestContext, url: string): Promise<Page> {
  const { source, show, signal } = context;
  const idle = new IdleTimer(source.timeoutMs);
  let current = url;
  const seen = new Set<string>([current]);
  for (let redirects = 0; ; redirects += 1) {
    const target = new URL(current);
    if (target.origin !== context.home && source.crossOrigin === "refuse") {
      idle.stop();
      throw new StageFailure(`the source ${source.name} pointed to another origin (${show(current)}); it is set to refuse that (crossOrigin: "refuse")`, "permanent");
    }
    const headers = target.origin === context.home ? context.headers : new Headers({ accept: context.headers.get("accept") ?? "*/*" });
    let response: Response;
    try {
      response = await fetch(current, { headers, redirect: "manual", signal: AbortSignal.any([signal, idle.signal]) });
    } catch (error) {
      idle.stop();
      if (signal.aborted) throw signal.reason;
      if (idle.signal.aborted) throw new StageFailure(`the source ${show(current)} did not answer within ${source.timeoutMs} ms`, "transient");
      // fetch() only throws when there was no HTTP answer at all: a network problem, worth another try.
      throw new StageFailure(`could not reach the source ${show(current)}: ${redactText(describe(error), context.secrets)}`, "transient");
    }
    if (REDIRECT_STATUSES.has(response.status)) {
      await response.body?.cancel();
      current = redirectTarget(response, current, seen, redirects, context, idle);
      seen.add(current);
      idle.touch();
      continue;
    }
    if (!response.ok) {
      idle.stop();
      await response.body?.cancel();
      const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
      const retryAfter = parseRetryAfter(response.headers.get("retry-after"), Date.now());
      throw new StageFailure(`the source ${show(current)} answered HTTP ${status}`, classifyHttpStatus(response.status), retryAfter);
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
    return { body, url: current, link: response.headers.get("link"), idle };
  }
}

function redirectTarget(response: Response, current: string, seen: Set<string>, redirects: number, context: RequestContext, idle: IdleTimer): string {
  const fail = (reason: string) => {
    idle.stop();
    return new StageFailure(`the source ${context.show(current)} ${reason}`, "permanent");
  };
  const location = response.headers.get("location");
  if (location === null) throw fail(`answered HTTP ${response.status} without a Location`);
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw fail(`redirected to something that is not a URL`);
  }
  if (next.protocol !== "http:" && next.protocol !== "https:") throw fail(`redirected to a ${next.protocol} URL; only http and https are followed`);
  if (seen.has(next.toString())) throw fail(`redirected in a loop (back to ${context.show(next.toString())})`);
  if (redirects + 1 > MAX_REDIRECTS) throw fail(`redirected more than ${MAX_REDIRECTS} times`);
  return next.toString();
}

/**
 * The values of the secrets a source declares, from the Worker's environment. Only declared names are
 * read, so a source can never send API_TOKEN or any other variable anywhere.
 */
export function resolveSourceSecrets(source: HttpSource, env: Readonly<Record<string, unknown>>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of source.secrets) {
    if ((RESERVED_SECRETS as readonly string[]).includes(name)) throw new StageFailure(`source ${source.name} may not use the service's own secret ${name}`, "permanent");
    const value = env[name];
    if (typeof value !== "string" || value === "") {
      throw new StageFailure(`the secret ${name} declared by source ${source.name} is not set (npx wrangler secret put ${name})`, "permanent");
    }
    values[name] = value;
  }
  return values;
}

function asFailure(error: unknown, context: RequestContext, url: string, idle: IdleTimer): unknown {
  if (context.signal.aborted) return context.signal.reason;
  if (idle.signal.aborted) return new StageFailure(`the source ${context.show(url)} sent no data for ${context.source.timeoutMs} ms`, "transient");
  if (error instanceof StageFailure) return error;
  if (error instanceof PayloadError) return new StageFailure(`${error.message} (source ${context.show(url)})`, "permanent");
  return new StageFailure(`the source ${context.show(url)} broke off its answer: ${redactText(describe(error), context.secrets)}`, "transient");
}

function nextPageUrl(source: HttpSource, current: string, link: string | null, field: unknown, show: (url: string) => string): string | null {
  switch (source.pagination.type) {
    case "none":
      return null;
    case "link-header":
      return nextLink(link, current);
    case "next-url-field": {
      if (typeof field !== "string" || field === "") return null;
      let next: URL;
      try {
        next = new URL(field, current);
      } catch {
        throw new StageFailure(`the next page of source ${source.name} is not a URL: ${JSON.stringify(field).slice(0, 100)}`, "permanent");
      }
      if (next.protocol !== "http:" && next.protocol !== "https:") {
        throw new StageFailure(`the next page of source ${source.name} is a ${next.protocol} URL (${show(next.toString())}); only http and https are read`, "permanent");
      }
      return next.toString();
    }
    case "cursor-field": {
      if ((typeof field !== "string" && typeof field !== "number") || field === "") return null;
      const next = new URL(current);
      next.searchParams.set(source.pagination.param, String(field));
      return next.toString();
    }
  }
}

/** A source URL as reports show it: the run's values filled in, every secret as [redacted]. */
export function shownSourceUrl(template: string, runValues: Readonly<Record<string, string>>): string {
  return fillPlaceholders(template, (name) => (isRunValue(name) ? encodeURIComponent(runValues[name] ?? "") : REDACTED));
}

function firstPageUrl(url: string, watermark: HttpReadOptions["watermark"]): string {
  if (!watermark || watermark.param === null) return url;
  const first = new URL(url);
  first.searchParams.set(watermark.param, watermark.value);
  return first.toString();
}

/** The source's configured headers with their placeholders filled: sent to the source's own origin only. */
function configuredHeaders(source: HttpSource, secrets: Readonly<Record<string, string>>): Headers {
  const headers = new Headers({ accept: acceptFor(source.format) });
  for (const [name, template] of Object.entries(source.headers)) headers.set(name, fillPlaceholders(template, (secret) => secrets[secret] ?? ""));
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Aborts when nothing happened for `ms`: waiting for headers, or between chunks of a body. */
class IdleTimer {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastActive = 0;
  private stopped = false;

  constructor(private readonly ms: number) {
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Called for every piece of the body: only notes the time; the one timer checks it when it fires. */
  touch(): void {
    this.lastActive = Date.now();
    this.timer ??= setTimeout(() => this.check(), this.ms);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private check(): void {
    if (this.stopped) return;
    const idleFor = Date.now() - this.lastActive;
    if (idleFor >= this.ms) {
      this.controller.abort(new StageFailure(`no data from the source for ${this.ms} ms`, "transient"));
      return;
    }
    this.timer = setTimeout(() => this.check(), this.ms - idleFor);
  }
}
