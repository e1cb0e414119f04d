import { env } from "cloudflare:workers";
import { readSettings, type HttpSource, type PipelineSettings } from "../../src/config/settings";

/** The Worker's own settings for a pipeline, with test-specific changes on top. */
export function settingsFor(pipeline: string, changes: Partial<PipelineSettings> = {}): PipelineSettings {
  const result = readSettings(env as unknown as Record<string, unknown>, pipeline);
  if (!result.ok) throw new Error(result.errors.join("; "));
  return { ...result.settings, ...changes };
}

/** An HTTP source with the defaults the config would give it. */
export function httpSource(url: string, changes: Partial<HttpSource> = {}): HttpSource {
  return {
    kind: "http",
    name: "primary",
    url,
    format: "json",
    recordsPath: "",
    headers: {},
    secrets: [],
    crossOrigin: "strip-headers",
    pagination: { type: "none" },
    maxPages: 100,
    timeoutMs: 5_000,
    csvDelimiter: ",",
    csvQuoteErrors: "fail",
    csvMaxRecordLines: 1,
    ...changes,
  };
}
