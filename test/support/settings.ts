import { env } from "cloudflare:workers";
import { readSettings, type PipelineSettings } from "../../src/config/settings";

/** The Worker's own settings for a pipeline, with test-specific changes on top. */
export function settingsFor(pipeline: string, changes: Partial<PipelineSettings> = {}): PipelineSettings {
  const result = readSettings(env as unknown as Record<string, unknown>, pipeline);
  if (!result.ok) throw new Error(result.errors.join("; "));
  return { ...result.settings, ...changes };
}
