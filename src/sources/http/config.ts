import { z } from "zod";
import { formatProblems, formatShape, type FormatSettings } from "../formats";
import { isRunValue, placeholderNames, runValueProblem } from "../placeholders";

/**
 * An HTTP source: JSON, NDJSON or CSV pages, with its secrets kept to its own origin. The zod schema
 * checks what a pipeline file or a config variable declares; `HttpSource` is what a run stores.
 */

/** What happens when a redirect or a next page leads to another origin than the source's own URL. */
export const CROSS_ORIGIN_POLICIES = ["strip-headers", "refuse"] as const;
export type CrossOriginPolicy = (typeof CROSS_ORIGIN_POLICIES)[number];

export type Pagination =
  | { type: "none" }
  /** Follow `Link: <url>; rel="next"` (RFC 8288). */
  | { type: "link-header" }
  /** A JSON body `{ <recordsPath>: [...], <field>: "https://…next page" }`. */
  | { type: "next-url-field"; field: string }
  /** A JSON body with a cursor field, sent back as a query parameter for the next page. */
  | { type: "cursor-field"; field: string; param: string };

export interface HttpSource extends FormatSettings {
  kind: "http";
  name: string;
  /**
   * May hold placeholders in its path and query: `{{NAME}}` filled from `secrets`, `{{slot.date}}` (and
   * `.iso`, `.epochMs`) and `{{params.<name>}}` from the run, at request time.
   */
  url: string;
  /** Request headers; `{{NAME}}` is replaced by the secret NAME when the request is made. */
  headers: Record<string, string>;
  /** The Worker secrets (or variables) this source's placeholders may use. Nothing else is ever read. */
  secrets: string[];
  /** Configured headers go to the source's own origin only; elsewhere they are dropped, or the read is refused. */
  crossOrigin: CrossOriginPolicy;
  pagination: Pagination;
  maxPages: number;
  timeoutMs: number;
}

/** The service's own secrets: no source may ever send them anywhere. */
export const RESERVED_SECRETS = ["API_TOKEN", "ALERT_WEBHOOK_URL"] as const;

/**
 * A source URL: http(s), no `user:pass@` (credentials belong in a header, where they can be kept to the
 * source's origin and out of every report), placeholders only after the origin.
 */
export function checkSourceUrl(value: string): string | null {
  const probe = value.replace(/\{\{[^}]*\}\}/g, "x");
  if (!/^https?:\/\/\S+$/i.test(value) || !URL.canParse(probe)) return "must be an http(s) URL";
  const url = new URL(probe);
  if (url.username || url.password) {
    return 'must not carry credentials (user:password@); send them in a header, e.g. headers: { "Authorization": "Basic {{SOURCE_AUTH}}" } with secrets: ["SOURCE_AUTH"]';
  }
  const origin = /^https?:\/\/[^/?#]*/i.exec(value)?.[0] ?? "";
  if (origin.includes("{{")) return "may use {{placeholders}} in its path and query only, not in its host";
  return null;
}

const ms = (min: number, max: number) => z.number().int().min(min).max(max);
const fieldPath = z.string().min(1).max(200);
const httpUrl = z.string().superRefine((value, ctx) => {
  const problem = checkSourceUrl(value);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});
const secretName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be a variable name (letters, digits, _)")
  .refine((name) => !(RESERVED_SECRETS as readonly string[]).includes(name), { message: `is the service's own secret; a source may not use ${RESERVED_SECRETS.join(" or ")}` });

const PaginationSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({ type: z.literal("link-header") }),
  z.strictObject({ type: z.literal("next-url-field"), field: fieldPath }),
  z.strictObject({ type: z.literal("cursor-field"), field: fieldPath, param: z.string().min(1).max(100) }),
]);

/** Everything about an HTTP source but where it is: shared by declared sources and a URL given in a variable. */
const httpOptions = {
  name: z.string().min(1).max(100).optional(),
  ...formatShape,
  headers: z.record(z.string().min(1).max(200), z.string().max(4_000)).default({}),
  secrets: z.array(secretName).max(20).default([]),
  crossOrigin: z.enum(CROSS_ORIGIN_POLICIES).default("strip-headers"),
  pagination: PaginationSchema.default({ type: "none" }),
  maxPages: z.number().int().min(1).max(100_000).default(100),
  timeoutMs: ms(100, 300_000).optional(),
};

type HttpShape = { url: string; format: FormatSettings["format"]; recordsPath: string; headers: Record<string, string>; secrets: string[]; pagination: Pagination };

function checkHttpSource(source: HttpShape, ctx: z.RefinementCtx): void {
  const declared = new Set(source.secrets);
  for (const name of placeholderNames(source.url)) {
    // Whether a {{params.x}} names a declared param is checked with the pipeline (settings).
    const problem = isRunValue(name) ? runValueProblem(name, null) : declared.has(name) ? null : `url uses {{${name}}}, which is not in this source's secrets (add "secrets": ["${name}"])`;
    if (problem) ctx.addIssue({ code: "custom", path: ["url"], message: problem });
  }
  for (const [header, value] of Object.entries(source.headers)) {
    for (const name of placeholderNames(value)) {
      if (isRunValue(name)) {
        ctx.addIssue({ code: "custom", path: ["headers"], message: `headers.${header} uses {{${name}}}: headers may use secrets only; put slot values and params in the URL` });
      } else if (!declared.has(name)) {
        ctx.addIssue({ code: "custom", path: ["headers"], message: `headers.${header} uses {{${name}}}, which is not in this source's secrets (add "secrets": ["${name}"])` });
      }
    }
  }
  const bodyPagination = source.pagination.type === "next-url-field" || source.pagination.type === "cursor-field";
  if (bodyPagination && source.format !== "json") {
    ctx.addIssue({ code: "custom", path: ["pagination"], message: `${source.pagination.type} pagination needs format "json"` });
  }
  if (bodyPagination && source.recordsPath === "") {
    ctx.addIssue({ code: "custom", path: ["recordsPath"], message: `${source.pagination.type} pagination needs recordsPath (the records array beside the ${source.pagination.type === "cursor-field" ? "cursor" : "next URL"})` });
  }
  for (const problem of formatProblems(source)) ctx.addIssue({ code: "custom", path: [problem.path], message: problem.message });
}

export const HttpSourceSchema = z.strictObject({ type: z.literal("http"), url: httpUrl, ...httpOptions }).superRefine(checkHttpSource);

/** An HTTP source whose URL is read from a Worker variable (checked when the variable is read). */
export const HttpOptionsSchema = z.strictObject(httpOptions);

/** An HTTP source as a pipeline file or a config variable writes it. */
export type HttpOptionsInput = z.input<typeof HttpOptionsSchema>;
export type HttpSourceDeclared = z.output<typeof HttpSourceSchema>;

/** A checked HTTP source with its defaults. */
export function httpSettings(source: HttpSourceDeclared, base: { name: string; defaultTimeoutMs: number }): HttpSource {
  return {
    kind: "http",
    name: base.name,
    url: source.url,
    format: source.format,
    recordsPath: source.recordsPath,
    headers: source.headers,
    secrets: source.secrets,
    crossOrigin: source.crossOrigin,
    pagination: source.pagination,
    maxPages: source.maxPages,
    timeoutMs: source.timeoutMs ?? base.defaultTimeoutMs,
    csvDelimiter: source.csvDelimiter,
    csvQuoteErrors: source.csvQuoteErrors,
    csvMaxRecordLines: source.csvMaxRecordLines,
  };
}
