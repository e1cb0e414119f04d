import { zValidator } from "@hono/zod-validator";
import type { ValidationTargets } from "hono";
import type { z } from "zod";
import { ApiError } from "./errors";

/**
 * zod validation for a request part, answering 400 in the common error shape with every problem named
 * (`limit: must be at most 100`).
 */
export function validate<Target extends keyof ValidationTargets, Schema extends z.ZodType>(target: Target, schema: Schema) {
  return zValidator(target, schema, (result) => {
    if (!result.success) {
      const problems = result.error.issues.map((issue) => {
        const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
        return `${where}${issue.message}`;
      });
      throw new ApiError(400, `invalid_${target}`, `invalid ${target}: ${problems.join("; ")}`);
    }
  });
}
