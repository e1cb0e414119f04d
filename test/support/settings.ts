import { env } from "cloudflare:workers";
import type { Pipeline } from "../../src/engine/define-pipeline";
import { deployment } from "../../src/pipelines";
import { expectValid } from "./test-pipelines";
import { resolveSettings, type PipelineSettings } from "../../src/engine/settings";
import type { HttpSource } from "../../src/sources/http/config";
import type { RetryPolicies, RetryPolicy } from "../../src/domain/retry-policy";
import defaultPipeline from "../../src/pipelines/default/pipeline";
import { uniqueName } from "./runtime";

/**
 * A pipeline named `name` for one test: a copy of `base` (the seed's pipeline unless said otherwise),
 * registered like any other, so its agents, its runs and its stages find it. The registry is shared with
 * the agents: tests run in the same runtime.
 */
export function pipelineNamed(name: string, base: Pipeline = defaultPipeline): Pipeline {
  const existing = deployment.find(name);
  if (existing) return existing;
  const copy = { ...base, name };
  expectValid(deployment.add(copy));
  return copy;
}

/** A fresh pipeline for one test (a copy of `base`), named uniquely so its agents and history are its own. */
export function uniquePipeline(prefix = "pipe", base?: Pipeline): string {
  const name = uniqueName(prefix);
  pipelineNamed(name, base);
  return name;
}

/** The Worker's own settings for a test pipeline, with test-specific changes on top. */
export function settingsFor(name: string, changes: Partial<PipelineSettings> = {}, base?: Pipeline): PipelineSettings {
  const result = resolveSettings(pipelineNamed(name, base), env as unknown as Record<string, unknown>);
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

/** The same retry policy for stage attempts, source requests and alert posts. */
export function allPolicies(policy: RetryPolicy): RetryPolicies {
  return { stage: policy, source: policy, alerts: policy };
}
