import { z } from "zod";
import { DEFAULT_THRESHOLDS } from "./categories";
import { DEFAULT_FIELDS, DEFAULT_RULES, type ValidationRules } from "./mapping";

const fieldPath = z.string().min(1).max(200);

/**
 * The seed pipeline's own settings, read from PIPELINE_CONFIG beside the engine's: where each field is in
 * a record, the category thresholds, and the validation rules. Every key has the seed's default.
 */
export const ReadingsConfig = z.object({
  fields: z
    .strictObject({
      id: fieldPath.default(DEFAULT_FIELDS.id),
      value: fieldPath.default(DEFAULT_FIELDS.value),
      timestamp: fieldPath.default(DEFAULT_FIELDS.timestamp),
      type: fieldPath.default(DEFAULT_FIELDS.type),
    })
    .prefault({}),
  thresholds: z
    .strictObject({ medium: z.number().finite().default(DEFAULT_THRESHOLDS.medium), high: z.number().finite().default(DEFAULT_THRESHOLDS.high) })
    .prefault({})
    .refine((thresholds) => thresholds.medium <= thresholds.high, { message: "medium must not be above high" }),
  validation: z
    .strictObject({
      value: z
        .strictObject({ min: z.number().finite().optional(), max: z.number().finite().optional() })
        .refine((range) => range.min === undefined || range.max === undefined || range.min <= range.max, { message: "min must not be above max" })
        .optional(),
      valueTypes: z.array(z.enum(["number", "string"])).min(1).default(["number", "string"]),
      allowedTypes: z.array(z.string().min(1)).min(1).optional(),
      requiredFields: z.array(fieldPath).default([]),
      rejectDuplicates: z.boolean().default(true),
    })
    .prefault({}),
});

export type ReadingsConfig = z.output<typeof ReadingsConfig>;

export function rulesOf(config: ReadingsConfig): ValidationRules {
  return { ...DEFAULT_RULES, ...config.validation, value: config.validation.value ?? {} };
}
