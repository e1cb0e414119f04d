import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors";

/**
 * Bearer-token authentication for /api/*. With the secret API_TOKEN set, requests need
 * `Authorization: Bearer <API_TOKEN>`. Without it the API stays closed unless ALLOW_UNAUTHENTICATED is
 * "true" (local development sets that), so a fresh deploy is never open by accident.
 */
export function requireToken(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const expected = c.env.API_TOKEN;
    if (!expected) {
      if (c.env.ALLOW_UNAUTHENTICATED === "true") return next();
      throw unauthorized("no API token is configured; set one with `npx wrangler secret put API_TOKEN` (or set ALLOW_UNAUTHENTICATED to \"true\" for local development)");
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized("send Authorization: Bearer <API_TOKEN>");
    if (!(await sameSecret(match[1]!, expected))) throw unauthorized("the API token is not valid");
    return next();
  };
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, "unauthorized", message, {}, { "WWW-Authenticate": 'Bearer realm="scheduled-pipeline"' });
}

/** Constant-time comparison: both sides are hashed first, so neither length nor content leaks through timing. */
async function sameSecret(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  return crypto.subtle.timingSafeEqual(a, b);
}
