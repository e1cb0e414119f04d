import { env } from "cloudflare:workers";
import { z } from "zod";
import { definePipeline, type Pipeline } from "../../src/engine/define-pipeline";
import { reject, skip } from "../../src/engine/outcomes";
import { deployment } from "../../src/pipelines";

/**
 * A pipeline that exists only in the tests, to show the engine is not tied to the two shipped examples:
 * NDJSON events keyed by one column, the last of two events with one id wins, heartbeats skipped.
 */
export const events = definePipeline({
  name: "test-events",
  description: "Test-only: click events, last one wins",
  schedule: { every: "6h" },
  sources: [{ type: "sample" }],
  sample: {
    format: "ndjson",
    text: [
      { id: "e1", kind: "click", at: 1_700_000_000_000, weight: 2 },
      { id: "e2", kind: "heartbeat", at: 1_700_000_001_000, weight: 0 },
      { id: "e3", kind: "click", at: 1_700_000_002_000, weight: -1 },
      { id: "e1", kind: "click", at: 1_700_000_003_000, weight: 5 },
      "not an object",
      { id: "e4", kind: "scroll", at: 1_700_000_004_000, weight: 1 },
    ]
      .map((line) => JSON.stringify(line))
      .join("\n"),
  },
  record: z.object({ id: z.string(), kind: z.enum(["click", "scroll", "heartbeat"]), at: z.number().int(), weight: z.number() }),
  transform: (event) => {
    if (event.kind === "heartbeat") return skip();
    if (event.weight < 0) return reject(`weight ${event.weight} is negative`, { id: event.id });
    return { event_id: event.id, kind: event.kind, at: event.at, weight: event.weight };
  },
  destination: { table: "test_events", key: ["event_id"], columns: { event_id: "text", kind: "text", at: "integer", weight: "real" }, duplicates: "last-wins" },
  watermark: { column: "at", param: "after", format: "epoch-ms" },
});

// Setup files run again for every test file, in a runtime that keeps the deployment: add once.
if (!deployment.find(events.name)) expectValid(deployment.add(events));

/** The test pipeline's table: a test-only migration. */
await env.DB.exec(
  "CREATE TABLE IF NOT EXISTS test_events (event_id TEXT PRIMARY KEY, kind TEXT NOT NULL, at INTEGER NOT NULL, weight REAL NOT NULL, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER)",
);

/** Where the daily test pipeline reads: one file per day, answered by MSW in the http-source tests. */
export const DAILY_SOURCE = "https://source.example.test/daily";

/**
 * A pipeline that exists only in the tests, reading one file per day: `{{slot.date}}` (the slot's day in
 * Berlin) and `{{params.region}}` in its URL, a params schema with defaults, a transform that uses both.
 */
export const daily = definePipeline({
  name: "test-daily",
  description: "Test-only: one file of readings per day, by region",
  schedule: { cron: "0 3 * * *", timezone: "Europe/Berlin" },
  sources: [{ type: "http", url: `${DAILY_SOURCE}/{{slot.date}}.json?region={{params.region}}` }],
  params: z.object({ region: z.enum(["eu", "us"]).default("eu"), factor: z.number().positive().default(1) }),
  record: z.object({ id: z.string(), day: z.string(), value: z.number() }),
  transform: (reading, context) => ({ reading_id: reading.id, day: reading.day, region: context.params.region, value: reading.value * context.params.factor, slot: context.scheduledFor }),
  destination: { table: "test_daily", key: ["reading_id", "day"], columns: { reading_id: "text", day: "text", region: "text", value: "real", slot: { type: "integer", nullable: true } } },
  tuning: { retries: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 } },
});

if (!deployment.find(daily.name)) expectValid(deployment.add(daily));

/** A copy of the daily pipeline for one test, with changes (another table, a deadline, tuning). */
export function dailyPipeline(name: string, changes: Partial<Pipeline> = {}): string {
  if (!deployment.find(name)) expectValid(deployment.add({ ...daily, ...changes, name }));
  return name;
}

/** The daily pipeline's table, or one like it under another name. */
export async function createDailyTable(table = "test_daily"): Promise<void> {
  await env.DB.exec(
    `CREATE TABLE IF NOT EXISTS ${table} (reading_id TEXT NOT NULL, day TEXT NOT NULL, region TEXT NOT NULL, value REAL NOT NULL, slot INTEGER, run_id TEXT NOT NULL, loaded_at INTEGER NOT NULL, position INTEGER, PRIMARY KEY (reading_id, day))`,
  );
}

await createDailyTable();

/** A test pipeline the deployment sets aside would make every test of it fail for another reason. */
export function expectValid(problems: string[]): void {
  if (problems.length > 0) throw new Error(`a test pipeline is invalid: ${problems.join("; ")}`);
}
