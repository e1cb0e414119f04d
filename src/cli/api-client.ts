/**
 * The CLI's way to the HTTP API: one request at a time, with the bearer token, and every failure turned
 * into a CliError that carries the exit code it deserves. The CLI runs in Node (not in the Worker), so
 * its imports name their `.ts` files.
 */
import { CliError, EXIT } from "./exit-codes.ts";

export interface ApiOptions {
  /** Where the API is: PIPELINE_API_URL, default http://localhost:8787. */
  baseUrl: string;
  /** PIPELINE_API_TOKEN; none for a local `npm run dev`. */
  token: string | null;
  /** Per request. */
  timeoutMs?: number;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
}

const DEFAULT_TIMEOUT_MS = 30_000;

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string | null;
  private readonly timeoutMs: number;

  constructor(options: ApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get<T>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>("GET", path);
  }

  post<T>(path: string, body?: unknown): Promise<ApiResponse<T>> {
    return this.request<T>("POST", path, body);
  }

  /**
   * Sends one request. Cannot reach the server, or it refuses the token: exit 3. The API refused the
   * request as invalid or naming something that does not exist (400, 404): exit 2. Anything else that is
   * not a success (409, 5xx): exit 1. The message is the API's own.
   */
  async request<T>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new CliError(EXIT.unreachable, `cannot reach the API at ${this.baseUrl}: ${reasonOf(error)} (set PIPELINE_API_URL, or start it with npm run dev)`);
    }
    const text = await response.text();
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
      const where = `${method} ${path} at ${this.baseUrl} answered HTTP ${response.status} with a body that is not JSON`;
      throw new CliError(response.ok ? EXIT.unreachable : EXIT.failed, `${where}${response.ok ? " (is PIPELINE_API_URL this service's address?)" : ""}`);
    }
    if (response.ok) return { status: response.status, body: parsed as T };
    const message = apiMessage(parsed) ?? `HTTP ${response.status}`;
    throw new CliError(response.status === 400 || response.status === 404 ? EXIT.usage : EXIT.failed, message, parsed);
  }
}

/** The API's one error shape: `{ errors: [{ code, message }] }`. */
function apiMessage(body: unknown): string | null {
  const errors = (body as { errors?: { code?: string; message?: string }[] } | null)?.errors;
  if (!Array.isArray(errors) || errors.length === 0) return null;
  return errors.map((error) => `${error.message ?? "error"}${error.code ? ` (${error.code})` : ""}`).join("; ");
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return cause.code === "ECONNREFUSED" ? "connection refused" : cause.code;
  if (cause?.message) return cause.message;
  if (error instanceof Error && error.name === "TimeoutError") return "no answer in time";
  return error instanceof Error ? error.message : String(error);
}
