import type { Hono, NotFoundHandler } from "hono";
import { ApiError, respondWithError } from "./errors";

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"] as const;

/**
 * Hono answers 404 for a known path with the wrong method; a demanding client expects 405 and an Allow
 * header. This compares the request path with the app's own route table.
 */
export function notFoundOrMethodNotAllowed<E extends object>(app: Hono<E>): NotFoundHandler {
  return (c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length > 0) {
      return respondWithError(
        c,
        new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(", ")}`, {}, { Allow: allowed.join(", ") }),
      );
    }
    return respondWithError(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`));
  };
}

function allowedMethods<E extends object>(app: Hono<E>, path: string): string[] {
  const allowed = new Set<string>();
  for (const route of app.routes) {
    if (route.method === "ALL" || !(METHODS as readonly string[]).includes(route.method)) continue;
    if (patternToRegExp(route.path).test(path)) allowed.add(route.method);
  }
  if (allowed.has("GET")) allowed.add("HEAD");
  return METHODS.filter((method) => allowed.has(method));
}

function patternToRegExp(pattern: string): RegExp {
  const source = pattern
    .split("/")
    .map((segment) => {
      if (segment === "*") return ".*";
      if (segment.startsWith(":")) return "[^/]+";
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${source}/?$`);
}
