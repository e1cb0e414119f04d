import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors";
import { logEvent } from "../observability/log";

/**
 * Bearer-token authentication for /api/*. With the secret API_TOKEN set, requests need
 * `Authorization: Bearer <API_TOKEN>`. Without it the API stays closed unless ALLOW_UNAUTHENTICATED is
 * "true" (local development sets that), so a fresh deploy is never open by accident.
 */
export function requireToken(): MiddlewareHandler<{ Bindings: Env; Variables: { tokenLabel: string | null } }> {
  return async (c, next) => {
    const tokens = configuredTokens(c.env);
    if (tokens.length === 0) {
      if (c.env.ALLOW_UNAUTHENTICATED === "true") return next();
      throw unauthorized("no API token is configured; set one with `npx wrangler secret put API_TOKEN` (or set ALLOW_UNAUTHENTICATED to \"true\" for local development)");
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized("send Authorization: Bearer <API_TOKEN>");
    // Every token is compared, whichever matches: the time taken says nothing about which one did.
    const matches = await Promise.all(tokens.map((token) => sameSecret(match[1]!, token.secret)));
    const index = matches.indexOf(true);
    if (index === -1) throw unauthorized("the API token is not valid");
    c.set("tokenLabel", tokens[index]!.label);
    return next();
  };
}

/**
 * API_TOKEN (no label) and the labelled API_TOKENS (`{ "alice": "…" }`). A malformed API_TOKENS is left
 * out, and said in the log (never its contents), rather than opening the API: with no other token set,
 * every request is refused. A label is at most 100 characters; an empty one counts as none.
 */
export function configuredTokens(env: Pick<Env, "API_TOKEN" | "API_TOKENS">): { label: string | null; secret: string }[] {
  const tokens: { label: string | null; secret: string }[] = env.API_TOKEN ? [{ label: null, secret: env.API_TOKEN }] : [];
  if (!env.API_TOKENS) return tokens;
  let labelled: unknown = null;
  try {
    labelled = JSON.parse(env.API_TOKENS);
  } catch {
    // reported below
  }
  if (typeof labelled !== "object" || labelled === null || Array.isArray(labelled)) {
    logEvent("api_tokens_invalid", { pipeline: null, problem: "API_TOKENS is not a JSON object of labels and tokens" });
  } else {
    for (const [label, secret] of Object.entries(labelled)) {
      if (typeof secret === "string" && secret.length > 0) tokens.push({ label: label.trim() === "" ? null : label.slice(0, 100), secret });
      else logEvent("api_tokens_invalid", { pipeline: null, problem: "a label in API_TOKENS has no token (a non-empty string)", label: label.slice(0, 100) });
    }
  }
  if (tokens.length === 0) tokens.push({ label: null, secret: crypto.randomUUID() + crypto.randomUUID() });
  return tokens;
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
