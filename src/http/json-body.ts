import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { z } from "zod";
import { ApiError } from "./errors";

export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Reads an optional JSON body: empty means `{}`. Anything else must be JSON (415 otherwise), at most
 * MAX_BODY_BYTES (413), well-formed (400) and valid against `schema` (400, naming every problem).
 * The parsed value is stored as `body`.
 */
export function optionalJsonBody<Schema extends z.ZodType>(schema: Schema): MiddlewareHandler<{ Variables: { body: z.infer<Schema> } }> {
  // Hono's bodyLimit counts a body sent without Content-Length (chunked) as it streams, and stops at the limit.
  const limit = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: () => { throw tooLarge(); } });
  return async (c, next) => limit(c, async () => {
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > MAX_BODY_BYTES) throw tooLarge();
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > MAX_BODY_BYTES) throw tooLarge();
    const text = new TextDecoder().decode(bytes).trim();
    let value: unknown = {};
    if (text.length > 0) {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
        throw new ApiError(415, "unsupported_media_type", `send the body as application/json (got ${type ? JSON.stringify(type) : "no content-type"})`);
      }
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new ApiError(400, "invalid_json", `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.length > 0 ? `${issue.path.join(".")}: ` : ""}${issue.message}`);
      throw new ApiError(400, "invalid_body", `invalid body: ${problems.join("; ")}`);
    }
    c.set("body", parsed.data);
    await next();
  });
}

function tooLarge(): ApiError {
  return new ApiError(413, "payload_too_large", `the body is larger than ${MAX_BODY_BYTES} bytes`);
}
