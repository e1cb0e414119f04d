import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { ApiError } from "./errors";

/**
 * Headers on every API answer: JSON is never rendered, framed or sniffed as something else. The dashboard's
 * static files get the same policy (plus what the page itself needs) from public/_headers.
 */
export const apiSecurityHeaders = (): MiddlewareHandler =>
  secureHeaders({
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    xFrameOptions: "DENY",
    referrerPolicy: "no-referrer",
    xContentTypeOptions: "nosniff",
  });

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * With no token required (local development), any web page the developer visits could otherwise make
 * their browser POST to this API: a trigger or a pause from a "simple" request needs no CORS preflight.
 * Browsers say where a request comes from (`Origin`, `Sec-Fetch-Site`), so a state-changing request from
 * another origin is refused with 403. Requests that say nothing (curl, scripts, the CLI) still work. With
 * a token, the browser has no ambient credential to abuse: it cannot send the bearer header cross-site
 * without a preflight, which this API never grants.
 */
export function crossSiteGuard(): MiddlewareHandler<{ Bindings: Env }> {
  return async (c, next) => {
    const open = !c.env.API_TOKEN && c.env.ALLOW_UNAUTHENTICATED === "true";
    if (!open || SAFE_METHODS.has(c.req.method)) return next();
    const origin = c.req.header("origin");
    const own = ownOrigins(c.req.url, c.env.PUBLIC_BASE_URL);
    if (origin !== undefined) {
      if (!own.has(origin)) throw forbidden(`requests from ${origin === "null" ? "an opaque origin" : origin} may not change anything here`);
      return next();
    }
    const site = c.req.header("sec-fetch-site");
    if (site !== undefined && site !== "same-origin" && site !== "none") throw forbidden(`a ${site} request may not change anything here`);
    return next();
  };
}

function ownOrigins(requestUrl: string, publicBaseUrl: string | undefined): Set<string> {
  const origins = new Set([new URL(requestUrl).origin]);
  if (publicBaseUrl && URL.canParse(publicBaseUrl)) origins.add(new URL(publicBaseUrl).origin);
  return origins;
}

function forbidden(detail: string): ApiError {
  return new ApiError(403, "cross_origin_request", `${detail}: this API has no token set (ALLOW_UNAUTHENTICATED), so it only accepts changes from its own pages or from clients that send no Origin (curl, the CLI)`);
}
