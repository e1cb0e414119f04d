/**
 * The CLI's own parts, in plain Node: parameters from `--param`, how runs and tables read, and the exit
 * codes for usage errors and an API that is not there. (scripts/cli-test.ts runs every command against a
 * real `wrangler dev`.)
 */
import { createServer } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli";
import { EXIT } from "../../src/cli/exit-codes";
import { count, duration, relative, table, time } from "../../src/cli/format";
import { parseParams } from "../../src/cli/params";
import { runLines } from "../../src/cli/progress";
import { startRun, stageStarted, stageSucceeded, stageProgressed } from "../../src/domain/run";
import { toRunView } from "../../src/domain/run-view";

function capture() {
  let text = "";
  const stream = new Writable({ write: (chunk, _encoding, done) => ((text += chunk.toString()), done()) }) as unknown as NodeJS.WriteStream;
  return { stream, text: () => text };
}

async function cli(args: string[], env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, env });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe("--param", () => {
  it("types JSON-looking values and keeps the rest as text", () => {
    expect(parseParams(["region=eu", "factor=2.5", "dry=true", "tags=[\"a\",\"b\"]", "empty=", "note=a=b", "id=007x"])).toEqual({ region: "eu", factor: 2.5, dry: true, tags: ["a", "b"], empty: "", note: "a=b", id: "007x" });
    expect(parseParams([])).toBeNull();
    expect(parseParams(["account=12345678901234567890", "small=42"])).toEqual({ account: "12345678901234567890", small: 42 });
  });

  it("refuses a pair without a name", () => {
    expect(() => parseParams(["=1"])).toThrow('--param takes name=value, got "=1"');
    expect(() => parseParams(["region"])).toThrow("--param takes name=value");
  });
});

describe("formatting", () => {
  it("aligns tables and spells out times, durations and counts", () => {
    expect(table(["A", "LONGER"], [["xyz", 1], [null, "two"]])).toBe("A    LONGER\nxyz  1\n-    two");
    expect(time(Date.parse("2026-11-28T03:00:00.123Z"))).toBe("2026-11-28 03:00:00Z");
    expect([850, 3_200, 252_000, 7_500_000, 3 * 86_400_000 + 4 * 3_600_000].map(duration)).toEqual(["850 ms", "3.2 s", "4m 12s", "2h 05m", "3d 04h"]);
    expect(count(1234567)).toBe("1,234,567");
    expect(relative(10_000, 5_000)).toBe("in 5.0 s");
    expect(relative(5_000, 10_000)).toBe("5.0 s ago");
  });

  it("shows a run's stages with records so far, a rate and the time taken", () => {
    const run = startRun({ runId: "manual-1", pipeline: "default", trigger: "manual", scheduledFor: null, destination: "d1://db/t", now: 0 });
    const extracted = stageSucceeded(stageStarted(run, "extract", 0), "extract", { inputCount: 20_000, outputCount: 20_000, rejectedCount: 0, output: [], rejected: { keys: [], counts: [], count: 0 }, rejectedSample: [] }, 2_000);
    const transforming = stageProgressed(stageStarted(extracted, "transform", 2_000), "transform", { inputCount: 5_000, outputCount: 5_000, rejectedCount: 0 }, 3_000);
    expect(runLines(toRunView(transforming), 4_500)).toEqual([
      "manual-1 · default · manual · running · 4.5 s",
      "  extract    succeeded           20,000 read     10,000/s    2.0 s",
      "  transform  running       5,000 transformed      2,000/s    2.5 s",
      "  load       pending",
    ]);
  });
});

/** A local HTTP server answering every request with `status` and `body`, as a proxy in front of the API might. */
async function answering(status: number, body: string, type = "text/html"): Promise<{ url: string; close(): Promise<void> }> {
  const { createServer: createHttpServer } = await import("node:http");
  const server = createHttpServer((_request, response) => response.writeHead(status, { "content-type": type }).end(body));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe("exit codes", () => {
  it("3 when an access gate answers 401 or 403 in HTML, or the address is not this API at all", async () => {
    for (const status of [401, 403]) {
      const gate = await answering(status, "<html>Sign in</html>");
      const result = await cli(["list"], { PIPELINE_API_URL: gate.url });
      expect(result.code).toBe(EXIT.unreachable);
      expect(result.stderr).toContain(`not authorised by the API at ${gate.url}: HTTP ${status} (set PIPELINE_API_TOKEN to the API's token)`);
      await gate.close();
    }
    const elsewhere = await answering(200, "<html>a blog</html>");
    const result = await cli(["list"], { PIPELINE_API_URL: elsewhere.url });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toContain("with a body that is not JSON (is PIPELINE_API_URL this service's address?)");
    await elsewhere.close();
  });

  it("2 for a usage error, 0 for help", async () => {
    expect((await cli(["frobnicate"])).code).toBe(EXIT.usage);
    expect((await cli(["backfill", "default", "--from", "2026-11-01"])).stderr).toContain("required option '--to <time>' not specified");
    expect((await cli(["backfill", "default", "--from", "a", "--to", "b", "--reprocess", "some"])).code).toBe(EXIT.usage);
    const help = await cli(["--help"]);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain("Usage: pipeline");
  });

  it("3 when nothing answers at PIPELINE_API_URL, saying where it looked", async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, "127.0.0.1", () => {
        const { port: free } = server.address() as { port: number };
        server.close(() => resolve(free));
      });
    });
    const result = await cli(["list"], { PIPELINE_API_URL: `http://127.0.0.1:${port}` });
    expect(result.code).toBe(EXIT.unreachable);
    expect(result.stderr).toBe(`error: cannot reach the API at http://127.0.0.1:${port}: connection refused (set PIPELINE_API_URL, or start it with npm run dev)\n`);
  });
});
