import type { Context, ErrorHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { logEvent } from "../observability/log";

/** The one error shape every endpoint answers with. */
export interface ErrorBody {
  errors: { code: string; message: string }[];
  [extra: string]: unknown;
}

export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { errors: [{ code, message }], ...extra };
}

/** An expected failure a handler answers with: bad input, unknown resource, conflicting state. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function respondWithError(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(errorBody(error.code, error.message, error.extra), error.status);
}

/** 500 only for our own bugs, and then without internals: the detail goes to the log. */
export const handleError: ErrorHandler = (error, c) => {
  if (error instanceof ApiError) return respondWithError(c, error);
  if (error instanceof HTTPException && error.status < 500) {
    return c.json(errorBody(codeForStatus(error.status), error.message || "bad request"), error.status);
  }
  logEvent("unhandled_error", {
    pipeline: c.req.path.startsWith("/api/pipeline") ? "default" : null,
    method: c.req.method,
    path: c.req.path,
    error: String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return c.json(errorBody("internal_error", "internal error; see the Worker's logs"), 500);
};

function codeForStatus(status: number): string {
  switch (status) {
    case 401:
      return "unauthorized";
    case 404:
      return "not_found";
    case 413:
      return "payload_too_large";
    default:
      return "bad_request";
  }
}
