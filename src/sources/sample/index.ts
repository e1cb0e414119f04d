import { z } from "zod";
import { StageFailure } from "../../domain/failures";
import { sourceKind, type SourceSettingsBase } from "../kind";
import { readSample } from "./read";

export interface SampleSource extends SourceSettingsBase {
  kind: "sample";
}

const SampleSourceSchema = z.strictObject({ type: z.literal("sample"), name: z.string().min(1).max(100).optional() });

/** `{ type: "sample" }`: the pipeline's built-in sample data (its file's `sample`), for local use. */
export const sampleSource = sourceKind<SampleSource, typeof SampleSourceSchema>({
  type: "sample",
  schema: SampleSourceSchema,
  settings: (_declared, base) => ({ kind: "sample", name: base.name }),
  problems: (_source, pipeline) => (pipeline.hasSample ? [] : ["type: a sample source needs the pipeline's sample data (set sample)"]),
  read(_source, context) {
    if (!context.sample) throw new StageFailure(`pipeline ${context.pipeline} has no sample data for its sample source`, "permanent");
    return readSample(context.sample, { csvColumns: context.requiredColumns, maxRecordBytes: context.maxRecordBytes, signal: context.signal });
  },
  describe: () => ({ url: null, format: null, watermark: null }),
  secretValues: () => [],
});
