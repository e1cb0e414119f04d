import type { z } from "zod";
import { deployment } from "../pipelines";
import { defaultParams } from "../engine/params";
import { resolveSettings } from "../engine/settings";
import { ApiError } from "../http/errors";
import { sourceKindOf } from "../sources";
import { UploadRefused } from "../sources/kind";
import { runValues } from "../sources/placeholders";
import { pipelineApp } from "./context";
import { err, MISCONFIGURED } from "./docs";
import { Resource } from "./operation";
import { UploadResponse } from "./responses";
import { UploadParam } from "./schemas";

/** The largest upload taken: what a Worker accepts as a request body on the Free and Pro plans. */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/**
 * Files for a pipeline that reads files: `PUT …/uploads/<name>` puts the body where its source reads
 * (for an R2 source, under its prefix), streamed, for its next run. The source's kind checks the name.
 */
export const uploadRoutes = new Resource(pipelineApp()).add(
  {
    method: "put",
    path: "/uploads/:file{.+}",
    summary: "Put a file where the pipeline's file source reads it on its next run",
    params: UploadParam,
    responses: {
      201: { description: "Stored; the next run reads it.", schema: UploadResponse },
      400: err("invalid_file_name: the name does not fit the source (a relative path its glob matches)."),
      403: err("With no token required: a change requested from another web origin (cross_origin_request)."),
      409: err("no_file_source: the pipeline reads no files."),
      411: err("length_required: send the file's size in Content-Length."),
      413: err(`payload_too_large: larger than ${MAX_UPLOAD_BYTES} bytes.`),
      ...MISCONFIGURED,
    },
  },
  async (c) => {
    const { file } = c.req.valid("param");
    const pipeline = deployment.require(c.var.pipeline);
    const resolved = resolveSettings(pipeline, c.env as unknown as Record<string, unknown>);
    if (!resolved.ok) throw new ApiError(503, "invalid_configuration", `the pipeline is misconfigured: ${resolved.errors.join("; ")}`);
    const { settings } = resolved;
    const source = settings.sources.find((candidate) => sourceKindOf(candidate).upload);
    if (!source) throw new ApiError(409, "no_file_source", `pipeline ${c.var.pipeline} reads no files (its sources are ${settings.sources.map((entry) => entry.kind).join(", ")}); uploads go to a pipeline with an r2 source`);
    const length = c.req.header("content-length");
    if (length === undefined || !/^\d+$/.test(length)) throw new ApiError(411, "length_required", "send the file's size in Content-Length (curl -T and --data-binary do)");
    if (Number(length) > MAX_UPLOAD_BYTES) throw new ApiError(413, "payload_too_large", `the file is larger than ${MAX_UPLOAD_BYTES} bytes`);
    try {
      const stored = await sourceKindOf(source).upload!(source, {
        env: c.env as unknown as Record<string, unknown>,
        name: file,
        body: c.req.raw.body ?? new Blob([]).stream(),
        contentType: c.req.header("content-type") ?? null,
        // As a run triggered now without params would see them: the slot is today, the params their defaults.
        runValues: runValues({ asOf: Date.now(), timezone: settings.schedule.timezone, params: defaultParams(pipeline) }),
      });
      const body = { message: `stored; the next run of ${c.var.pipeline} reads it`, source: source.name, ...stored } satisfies z.input<typeof UploadResponse>;
      return c.json(body, 201);
    } catch (error) {
      if (error instanceof UploadRefused) throw new ApiError(400, "invalid_file_name", error.message);
      throw error;
    }
  },
);
