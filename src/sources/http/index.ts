import { showUrl } from "../../domain/redaction";
import { sourceKind } from "../kind";
import { placeholderNames, runValueProblem } from "../placeholders";
import { HttpSourceSchema, httpSettings, type HttpSource } from "./config";
import { readHttpSource, resolveSourceSecrets, shownSourceUrl } from "./read";

/** `{ type: "http", url, format, pagination, headers, secrets, … }`: pages from a URL. */
export const httpSource = sourceKind<HttpSource, typeof HttpSourceSchema>({
  type: "http",
  schema: HttpSourceSchema,
  watermarkParam: true,
  tuningFields: ["timeoutMs"],
  settings: httpSettings,
  problems(source, pipeline) {
    // Whether a {{params.x}} names a declared param can only be told with the pipeline.
    return placeholderNames(source.url)
      .filter((name) => name.startsWith("params."))
      .map((name) => runValueProblem(name, pipeline.params))
      .filter((problem): problem is string => problem !== null)
      .map((problem) => `url uses ${problem}`);
  },
  read(source, context) {
    return readHttpSource(source, {
      secrets: resolveSourceSecrets(source, context.env),
      runValues: context.runValues,
      watermark: context.watermark,
      requiredColumns: context.requiredColumns,
      maxRecordBytes: context.maxRecordBytes,
      signal: context.signal,
    });
  },
  describe(source, context) {
    return { url: showUrl(shownSourceUrl(source.url, context.runValues)), format: source.format, watermark: context.watermark?.value ?? null };
  },
  secretValues(source, env) {
    return source.secrets.map((name) => env[name]).filter((value): value is string => typeof value === "string");
  },
});
