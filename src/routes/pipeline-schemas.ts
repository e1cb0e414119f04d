import { z } from "zod";
import { decodeCursor, decodePositionCursor } from "../domain/history";

/** Query strings carry text: booleans are spelled out, nothing else is accepted. */
const flag = z
  .enum(["true", "false", "1", "0"], { message: 'must be "true" or "false"' })
  .transform((value) => value === "true" || value === "1");

export const TriggerQuery = z.strictObject({ wait: flag.optional() });

/** Optional JSON body of a manual trigger. */
export const TriggerBody = z.strictObject({
  note: z.string().min(1).max(500, "must be at most 500 characters").optional(),
});

/** Optional JSON body of a cancel request. */
export const CancelBody = z.strictObject({
  reason: z.string().min(1).max(500, "must be at most 500 characters").optional(),
});

export const HISTORY_DEFAULT_LIMIT = 20;
export const HISTORY_MAX_LIMIT = 100;

export const HistoryQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,6}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1, "must be at least 1").max(HISTORY_MAX_LIMIT, `must be at most ${HISTORY_MAX_LIMIT}`))
    .optional(),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const cursor = decodeCursor(value);
      if (cursor === null) {
        ctx.addIssue({ code: "custom", message: "is not a cursor returned by this API (use nextCursor from a previous page)" });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
});

export const REJECTED_DEFAULT_LIMIT = 100;
export const REJECTED_MAX_LIMIT = 1_000;

export const RejectedQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,6}$/, "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(1, "must be at least 1").max(REJECTED_MAX_LIMIT, `must be at most ${REJECTED_MAX_LIMIT}`))
    .optional(),
  cursor: z
    .string()
    .transform((value, ctx) => {
      const position = decodePositionCursor(value);
      if (position === null) {
        ctx.addIssue({ code: "custom", message: "is not a cursor returned by this API (use nextCursor from a previous page)" });
        return z.NEVER;
      }
      return position;
    })
    .optional(),
});

export const RunIdParam = z.object({
  id: z.string().min(1).max(200, "is longer than any run id"),
});
