/**
 * The CLI's way to the HTTP API: one request at a time, with the bearer token, and every failure turned
 * into a CliError that carries the exit code it deserves. The CLI runs in Node (not in the Worker) and is
 * bundled by esbuild, which resolves the shared modules it imports.
 *
 * The server is not trusted to behave: an answer is read up to a size cap, within a time limit, and
 * checked against the API's own response schema before anything uses it; a redirect is followed only
 * within the API's origin, so another server's answer is never shown as ours (nor our token sent there).
 */
import type { z } from "zod";
import { redactUrl } from "../domain/redaction";
import { CliError, EXIT } from "./exit-codes.ts";

export interface ApiOptions {
  /** Where the API is: PIPELINE_API_URL, default http://localhost:8787. */
  baseUrl: string;
  /** PIPELINE_API_TOKEN; none for a local `npm run dev`. */
  token: string | null;
  /** The whole exchange, answer included. */
  timeoutMs?: number;
  /** An answer larger than this is not read on. */
  maxAnswerBytes?: number;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Headers;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** The API's largest answers (a page of 1,000 rejected records with their raw text) stay well under this. */
export const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export class ApiClient {
  readonly baseUrl: string;
  private readonly origin: string;
  private readonly token: string | null;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;

  constructor(options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    try {
      this.origin = new URL(this.baseUrl).origin;
    } catch {
      throw new CliError(EXIT.usage, `the API address ${JSON.stringify(this.baseUrl)} is not a URL (set PIPELINE_API_URL or --url to http(s)://host:port)`);
    }
  }

  get<S extends z.ZodType>(path: string, schema: S): Promise<ApiResponse<z.output<S>>> {
    return this.request("GET", path, schema);
  }

  /** `headers`: request headers of the operation's own (an Idempotency-Key), besides the client's. */
  post<S extends z.ZodType>(path: string, schema: S, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<z.output<S>>> {
    return this.request("POST", path, schema, body, headers);
  }

  /** PUTs bytes as they are (a file), not JSON. */
  putBytes<S extends z.ZodType>(path: string, schema: S, bytes: Uint8Array, contentType: string): Promise<ApiResponse<z.output<S>>> {
    return this.request("PUT", path, schema, new RawBody(bytes, contentType));
  }

  /**
   * Sends one request. Cannot reach the server, it refuses the token, it does not answer in time, its
   * answer is too big, or it redirects elsewhere: exit 3. The API refused the request as invalid or naming
   * something that does not exist (400, 404, 422): exit 2. Anything else that is not a success (409, 5xx), or a
   * success of a shape this CLI does not know: exit 1. The message is the API's own.
   */
  async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<z.output<S>>> {
    const where = `${method} ${path} at ${this.baseUrl}`;
    const controller = new AbortController();
    let phase: "answer" | "body" = "answer";
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      const response = await this.send(method, path, body, controller.signal, headers);
      phase = "body";
      const text = await this.readAnswer(response, where);
      return this.interpret(response, text, where, schema);
    } catch (error) {
      if (error instanceof CliError) throw error;
      if (controller.signal.aborted) {
        const what = phase === "answer" ? "did not answer" : "did not finish its answer";
        const limit = this.timeoutMs < 1_000 ? `${this.timeoutMs} ms` : `${Math.round(this.timeoutMs / 1_000)} s`;
        throw new CliError(EXIT.unreachable, `${where} ${what} within ${limit} (is the service up and PIPELINE_API_URL its address?)`);
      }
      throw new CliError(EXIT.unreachable, `cannot reach the API at ${this.baseUrl}: ${reasonOf(error)} (set PIPELINE_API_URL, or start it with npm run dev)`);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The request, following redirects only within the API's origin. Paths may come from the server (a
   * `statusUrl`), so the URL they make is checked too: `.evil.example/x` or `:8443/x` after the base would
   * name another host or port.
   */
  private async send(method: string, path: string, body: unknown, signal: AbortSignal, extraHeaders: Record<string, string>): Promise<Response> {
    const made = path.startsWith("/") ? safeUrl(`${this.baseUrl}${path}`) : null;
    if (made === null || made.origin !== this.origin) {
      throw new CliError(EXIT.unreachable, `${method} ${redactUrl(path)}: not a path of the API at ${this.baseUrl}; not requested`);
    }
    let url = made;
    let currentMethod = method;
    let payload: string | Uint8Array | undefined = body === undefined ? undefined : body instanceof RawBody ? body.bytes : JSON.stringify(body);
    for (let hop = 0; ; hop += 1) {
      const headers: Record<string, string> = { ...extraHeaders, accept: "application/json" };
      if (this.token) headers.authorization = `Bearer ${this.token}`;
      if (payload !== undefined) headers["content-type"] = body instanceof RawBody ? body.contentType : "application/json";
      const response = await fetch(url, { method: currentMethod, headers, body: payload, redirect: "manual", signal });
      if (!REDIRECTS.has(response.status)) return response;
      await response.body?.cancel();
      const location = response.headers.get("location");
      const target = location === null ? null : safeUrl(location, url);
      if (target === null) throw new CliError(EXIT.unreachable, `${method} ${path} at ${this.baseUrl} answered HTTP ${response.status} without a usable Location`);
      if (target.origin !== this.origin) {
        throw new CliError(EXIT.unreachable, `${method} ${path} at ${this.baseUrl} redirected to ${redactUrl(target.href)}, another origin; not followed (is PIPELINE_API_URL this service's address?)`);
      }
      if (hop >= MAX_REDIRECTS) throw new CliError(EXIT.unreachable, `${method} ${path} at ${this.baseUrl} redirected more than ${MAX_REDIRECTS} times`);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && currentMethod === "POST")) {
        currentMethod = "GET";
        payload = undefined;
      }
      url = target;
    }
  }

  /** The answer's text, read up to the cap: past it, reading stops and the command ends. */
  private async readAnswer(response: Response, where: string): Promise<string> {
    const tooBig = () => new CliError(EXIT.unreachable, `${where} answered with more than ${describeBytes(this.maxAnswerBytes)}; the CLI stopped reading (is PIPELINE_API_URL this service's address?)`);
    const declared = Number(response.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > this.maxAnswerBytes) {
      await response.body?.cancel();
      throw tooBig();
    }
    if (!response.body) return "";
    const reader = response.body.getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > this.maxAnswerBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooBig();
      }
      chunks.push(value);
    }
    const bytes = new Uint8Array(total);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return new TextDecoder().decode(bytes);
  }

  private interpret<S extends z.ZodType>(response: Response, text: string, where: string, schema: S): ApiResponse<z.output<S>> {
    let parsed: unknown = null;
    let json = true;
    try {
      parsed = text.length > 0 ? JSON.parse(text) : null;
    } catch {
      json = false;
    }
    // Checked before the body: a proxy or an access gate in front of the API answers 401/403 in HTML.
    if (response.status === 401 || response.status === 403) {
      const hint = this.token ? "the token in PIPELINE_API_TOKEN was refused" : "set PIPELINE_API_TOKEN to the API's token";
      throw new CliError(EXIT.unreachable, `not authorised by the API at ${this.baseUrl}: ${apiMessage(parsed) ?? `HTTP ${response.status}`} (${hint})`, parsed);
    }
    if (!json) {
      const answered = `${where} answered HTTP ${response.status} with a body that is not JSON`;
      throw new CliError(response.ok ? EXIT.unreachable : EXIT.failed, `${answered}${response.ok ? " (is PIPELINE_API_URL this service's address?)" : ""}`);
    }
    if (!response.ok) {
      const message = apiMessage(parsed) ?? `HTTP ${response.status}`;
      throw new CliError(response.status === 400 || response.status === 404 || response.status === 422 ? EXIT.usage : EXIT.failed, message, parsed);
    }
    const checked = schema.safeParse(parsed);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      const field = issue.path.map(String).join(".") || "the answer";
      throw new CliError(EXIT.failed, `${where} answered in a shape this CLI does not know (${field}: ${issue.message}); is the CLI from the same version as the service?`, parsed);
    }
    return { status: response.status, body: checked.data, headers: response.headers };
  }
}

function safeUrl(location: string, base?: URL): URL | null {
  try {
    return new URL(location, base);
  } catch {
    return null;
  }
}

function describeBytes(bytes: number): string {
  return bytes >= 1 << 20 ? `${Math.round(bytes / (1 << 20))} MiB` : `${bytes} bytes`;
}

/** The API's one error shape: `{ errors: [{ code, message }] }`. */
function apiMessage(body: unknown): string | null {
  const errors = (body as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  return errors
    .map((error: { code?: unknown; message?: unknown } | null) => `${typeof error?.message === "string" ? error.message : "error"}${typeof error?.code === "string" ? ` (${error.code})` : ""}`)
    .join("; ");
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code === "ECONNREFUSED" ? "connection refused" : cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** A body sent as bytes with its own type (an uploaded file), rather than as JSON. */
class RawBody {
  constructor(
    readonly bytes: Uint8Array,
    readonly contentType: string,
  ) {}
}
