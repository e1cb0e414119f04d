/**
 * npm run test:cli: the CLI end to end against a real `wrangler dev` (local D1, R2, Durable Objects),
 * closed with an API token as a deployment is, reading the default pipeline from a local HTTP source.
 * Every command is run as a user would (the bundled bin, which `npm run pipeline` builds and runs), and its
 * output and exit code are checked: 0 succeeded, 1 failed or cancelled, 2 usage, 3 unreachable or refused.
 * The orders pipeline reads its sample CSV from the same local source, so it can be made to fail: a failed
 * orders slot of yesterday keeps orders-daily's slots waiting (`slots`, `deps`), and once it is retried the
 * waiting slot runs, its `status` naming the orders run it consumed.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ORDERS_SAMPLE_CSV } from "../src/pipelines/orders/sample.ts";
import { runCommand, type CommandResult } from "./lib/run-command.ts";
import { startSourceServer, type SourceServer } from "./lib/source-server.ts";
import { freePort, migrateLocal, startDev, stopDev, type DevServer } from "./lib/wrangler-dev.ts";

const ROOT = resolve(import.meta.dirname, "..");
const TOKEN = "cli-test-token";
/** A second token, labelled in API_TOKENS: what a retry that accepts failed checks records as who. */
const OPS_TOKEN = "cli-test-ops-token";
const failures: string[] = [];

type Result = CommandResult;

const run = (command: string, args: string[], env: Record<string, string>) => runCommand(command, args, { cwd: ROOT, env });

const BIN = join(ROOT, "dist/cli/pipeline.mjs");

function cli(server: DevServer, args: string[], env: Record<string, string> = {}): Promise<Result> {
  return run(process.execPath, [BIN, ...args], { PIPELINE_API_URL: server.url, PIPELINE_API_TOKEN: TOKEN, ...env });
}

/** The same command in a terminal (a pty of 40 × 120 from util-linux's `script`), as a person sees it. */
async function inTerminal(server: DevServer, args: string[]): Promise<Result> {
  const command = `stty rows 40 cols 120; ${process.execPath} ${BIN} ${args.join(" ")}`;
  const result = await run("script", ["-qec", command, "/dev/null"], { PIPELINE_API_URL: server.url, PIPELINE_API_TOKEN: TOKEN });
  return { ...result, stdout: result.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "") };
}

function check(name: string, result: Result, code: number, expectations: (RegExp | string)[] = [], where: "stdout" | "stderr" = "stdout"): void {
  const text = result[where];
  const missing = expectations.filter((expected) => (typeof expected === "string" ? !text.includes(expected) : !expected.test(text)));
  if (result.code === code && missing.length === 0) {
    console.log(`  ok  ${name}`);
    return;
  }
  failures.push(name);
  console.log(`  FAIL ${name}: exit ${result.code} (wanted ${code}); missing ${missing.map(String).join(", ") || "nothing"}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
}

/** Polls `probe` every second until it answers something, or `timeoutMs` passes (then null). */
async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null || Date.now() > deadline) return value;
    await new Promise((resolveWait) => setTimeout(resolveWait, 1_000));
  }
}

/** Waits until the source has started answering its `target`-th request. */
async function waitForRequest(server: SourceServer, target: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (server.started < target) {
    if (Date.now() > deadline) throw new Error("the source was never asked");
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}

// The CLI as `npm run pipeline` runs it: built from the code as it is now.
if (spawnSync("npm", ["run", "build:cli", "--silent"], { cwd: ROOT, stdio: "inherit" }).status !== 0) throw new Error("npm run build:cli failed");
const persistTo = mkdtempSync(join(tmpdir(), "cli-test-"));
const source = await startSourceServer();
const records = (count: number) => Array.from({ length: count }, (_, index) => ({ id: `r${index}`, value: index % 97, timestamp: 1_700_000_000_000 + index * 1_000, type: "sensor" }));
source.serve(records(4));
let ordersStatus = 200;
let ordersCsv = ORDERS_SAMPLE_CSV;
source.route("/orders.csv", async (response) => {
  if (ordersStatus !== 200) response.writeHead(ordersStatus).end("unavailable");
  else response.writeHead(200, { "content-type": "text/csv" }).end(ordersCsv);
});
migrateLocal(persistTo);
const server = await startDev({
  persistTo,
  vars: {
    API_TOKEN: TOKEN,
    API_TOKENS: JSON.stringify({ ops: OPS_TOKEN }),
    // As `npm run dev` has it: the upload command sends the notification R2 would have.
    LOCAL_R2_NOTIFICATIONS: "true",
    PIPELINE_SOURCE_URL: source.url,
    PIPELINE_CONFIG: JSON.stringify({ retries: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }),
    ORDERS_SOURCE_URL: source.url.replace(/\/records$/, "/orders.csv"),
    ORDERS_CONFIG: JSON.stringify({ retries: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 } }),
  },
});
console.log(`CLI against ${server.url} (token required), source ${source.url}`);
const closedPort = await freePort();

try {
  check("list shows every pipeline", await cli(server, ["list"]), 0, [/PIPELINE\s+SCHEDULE\s+NEXT RUN/, /^default\s+0 3 \* \* \* UTC/m, /^orders\s+15 \* \* \* \* Europe\/Berlin/m, "d1://scheduled-pipeline/orders"]);

  const waited = await cli(server, ["trigger", "--wait", "--note", "from the CLI test"]);
  check("trigger --wait follows the run to its end (exit 0)", waited, 0, [/^manual-\d+ · default · manual$/m, /extract\s+succeeded\s+4 read/, /load\s+succeeded\s+4 loaded/, "extracted 4 = loaded 4 + rejected 0 + skipped 0"]);
  const runId = /^(manual-\d+)/m.exec(waited.stdout)?.[1] ?? "missing";

  const json = await cli(server, ["--json", "status", runId]);
  check("--json prints the API's JSON", json, 0, [`"pipelineId": "${runId}"`, '"note": "from the CLI test"']);
  check("status shows the run", await cli(server, ["status", runId]), 0, [`${runId} · default · manual · succeeded`, "source primary http://127.0.0.1"]);
  check("history lists the runs", await cli(server, ["history", "-n", "5"]), 0, [/default: 1 runs, 100% succeeded/, /RUN\s+TRIGGER\s+STATUS/, runId]);

  check("a param the pipeline does not declare is refused (exit 2)", await cli(server, ["trigger", "orders", "--param", "region=eu"]), 2, ["params.region: is not a param: pipeline orders takes store (invalid_params)"], "stderr");
  check("a param that does not fit is refused, naming it (exit 2)", await cli(server, ["trigger", "orders", "--param", "store=Berlin!"]), 2, ["params.store: must be a store code"], "stderr");
  const ordersRun = await cli(server, ["trigger", "orders", "--wait", "--param", "store=berlin"]);
  check("--param reaches the run: orders for one store", ordersRun, 0, ["extracted 42 = loaded 14 + rejected 2 + skipped 26"]);
  const ordersId = /^(manual-\d+)/m.exec(ordersRun.stdout)?.[1] ?? "missing";
  check("status finds a run of another pipeline by its id alone", await cli(server, ["status", ordersId]), 0, [`${ordersId} · orders · manual · succeeded`]);
  const posted = await cli(server, ["event", "orders", "--param", "store=hamburg", "--key", "cli-test-1", "--wait"]);
  check("event --wait posts an event and follows the run it starts (exit 0)", posted, 0, [/^event ev-\d+-\d+ → run event-\d+-\d+ started$/m, /^event-\d+-\d+ · orders · event$/m, /extracted 42 = loaded \d+ \+ rejected \d+ \+ skipped \d+/]);
  const eventId = /^event (ev-\d+-\d+)/m.exec(posted.stdout)?.[1] ?? "missing";
  check("event again with the same key answers the same event, not a second run", await cli(server, ["event", "orders", "--param", "store=hamburg", "--key", "cli-test-1"]), 0, [`event ${eventId} → run event-`, 'the key "cli-test-1" was used before: this is that event']);
  check("the same key with other params is refused (exit 2)", await cli(server, ["event", "orders", "--param", "store=berlin", "--key", "cli-test-1"]), 2, [`was used for event ${eventId} with other params; use a new key for a new event (idempotency_key_reused)`], "stderr");
  check("an event's params are checked as a trigger's (exit 2)", await cli(server, ["event", "orders", "--param", "region=eu"]), 2, ["params.region: is not a param: pipeline orders takes store (invalid_params)"], "stderr");
  check("a bad --param is a usage error (exit 2)", await cli(server, ["trigger", "--param", "novalue"]), 2, ['--param takes name=value, got "novalue"'], "stderr");
  check("an unknown command is a usage error (exit 2)", await cli(server, ["frobnicate"]), 2, ["unknown command 'frobnicate'"], "stderr");
  check("an unknown run is a usage error (exit 2)", await cli(server, ["status", "manual-1"]), 2, ['no run with id "manual-1" in any pipeline (run_not_found)'], "stderr");
  check("an unknown pipeline is a usage error (exit 2)", await cli(server, ["history", "nope"]), 2, ['no pipeline named "nope"'], "stderr");

  source.serve([], { status: 503 });
  const failed = await cli(server, ["trigger", "--wait"]);
  check("a failed run exits 1 and says why", failed, 1, [/extract\s+failed/, "error: extract stage failed: the source"]);
  const failedId = /^(manual-\d+)/m.exec(failed.stdout)?.[1] ?? "missing";
  check("status of a failed run exits 1", await cli(server, ["status", failedId]), 1, [`${failedId} · default · manual · failed`]);

  source.serve(records(4));
  const retried = await cli(server, ["retry", failedId, "--wait"]);
  check("retry --wait reruns the failed run and exits 0", retried, 0, [/^retry-\d+ · default · retry$/m, `retry of ${failedId} from extract`, "extracted 4 = loaded 4"]);
  check("a succeeded run cannot be retried (exit 1)", await cli(server, ["retry", runId]), 1, [`run ${runId} succeeded; there is nothing to retry`], "stderr");
  check("a finished run cannot be cancelled (exit 1)", await cli(server, ["cancel", runId]), 1, [`run ${runId} is not running (status succeeded) (run_not_active)`], "stderr");

  // Live progress in a terminal: a slow source, so the run is seen at work, then its end.
  source.serve(records(30_000), { slowMs: 3_000 });
  const live = await inTerminal(server, ["trigger", "--wait"]);
  check("trigger --wait in a terminal shows live progress per stage", live, 0, [/extract\s+running\s+[\d,]+ read\s+[\d,]+\/s/, /load\s+succeeded\s+30,000 loaded/, "extracted 30,000 = loaded 30,000"]);
  // A run caught at work, cancelled.
  const asked = source.started;
  const slow = await cli(server, ["--json", "trigger"]);
  const slowId = (JSON.parse(slow.stdout) as { pipelineId: string }).pipelineId;
  await waitForRequest(source, asked + 1);
  check("cancel stops a running run (exit 0)", await cli(server, ["cancel", slowId]), 0, [`cancelled ${slowId} in extract`]);
  check("status of the cancelled run exits 1", await cli(server, ["status", slowId]), 1, [`${slowId} · default · manual · cancelled`]);
  source.serve(records(4));

  const backfill = await cli(server, ["backfill", "default", "--from", "2026-11-01", "--to", "2026-11-04", "--wait"]);
  check("backfill --wait runs each slot and lists them (exit 0)", backfill, 0, [/backfill bf-\d+ succeeded: 3\/3 slots done \(3 succeeded, 0 failed\)/, /2026-11-01 03:00:00Z\s+succeeded\s+backfill-/, /2026-11-03 03:00:00Z\s+succeeded/]);
  check("backfill again runs nothing", await cli(server, ["backfill", "default", "--from", "2026-11-01", "--to", "2026-11-04"]), 0, [/backfill bf-\d+: 3 slots, 0 to run, 3 skipped/]);
  check("backfill of a reversed range is a usage error (exit 2)", await cli(server, ["backfill", "default", "--from", "2026-11-04", "--to", "2026-11-01"]), 2, ["from must be before to"], "stderr");
  check("slots shows the ledger, the backfill beside each slot's own judgement", await cli(server, ["slots", "--from", "2026-11-01", "--to", "2026-11-04"]), 0, [/default: 3 ran/, /BACKFILL/, /2026-11-02 03:00:00Z\s+ran\s+backfill-\d+-bf-\d+\s+succeeded\s+-\s+-\s+succeeded/]);

  await dataAwareTriggers(server, (status) => (ordersStatus = status));
  await datasetChecks(server, (csv) => (ordersCsv = csv ?? ORDERS_SAMPLE_CSV));

  check("schedule shows the schedule, times on the pipeline's clock", await cli(server, ["schedule", "orders"]), 0, [/schedule\s+15 \* \* \* \*/, /timezone\s+Europe\/Berlin/, /deadline\s+45m/, /next run\s+\d{4}-\d\d-\d\d \d\d:15:00\+0[12]:00/]);
  check("--utc shows them in UTC", await cli(server, ["--utc", "schedule", "orders"]), 0, [/next run\s+\d{4}-\d\d-\d\d \d\d:15:00Z/]);
  check("pause pauses it", await cli(server, ["pause", "orders"]), 0, [/enabled\s+no \(paused\)/]);
  check("list shows it paused", await cli(server, ["list"]), 0, [/^orders\s+.*\(paused\)\s+paused/m]);
  check("resume resumes it", await cli(server, ["resume", "orders"]), 0, [/enabled\s+yes/]);

  check("without the token: refused, exit 3, saying so", await cli(server, ["list"], { PIPELINE_API_TOKEN: "" }), 3, ["not authorised by the API", "set PIPELINE_API_TOKEN"], "stderr");
  check("a wrong token: exit 3", await cli(server, ["list"], { PIPELINE_API_TOKEN: "wrong" }), 3, ["the token in PIPELINE_API_TOKEN was refused"], "stderr");
  check("nothing listening: exit 3, saying so", await cli(server, ["list"], { PIPELINE_API_URL: `http://127.0.0.1:${closedPort}` }), 3, [`cannot reach the API at http://127.0.0.1:${closedPort}: connection refused`], "stderr");
  check("help exits 0", await cli(server, ["--help"]), 0, ["Usage: pipeline", "backfill", "slots", "event"]);

  const drop = join(ROOT, "docs/examples/store-drops/hamburg-2026-11-29.csv");
  const uploaded = await cli(server, ["upload", "store-drops", drop, "--run"]);
  check("upload --run puts a file in store-drops' bucket and runs it (one line rejected)", uploaded, 0, [
    "uploaded hamburg-2026-11-29.csv (",
    "→ r2://UPLOADS/drops/hamburg-2026-11-29.csv; stored; the next run of store-drops reads it",
    "sent the PutObject notification R2 would have (scheduled-pipeline-uploads/drops/hamburg-2026-11-29.csv): store-drops starts a run once no file has landed for 30.0 s",
    /extract\s+succeeded\s+5 read/,
    "extracted 5 = loaded 4 + rejected 1 + skipped 0",
  ]);
  check("a second run reads no file twice", await cli(server, ["trigger", "store-drops", "--wait"]), 0, ["extracted 0 = loaded 0 + rejected 0 + skipped 0"]);
  check("upload refuses a name the source would never read (exit 2)", await cli(server, ["upload", "store-drops", drop, "--as", "notes.txt"]), 2, ['the file name "notes.txt" does not match the source\'s files (**/*.csv), so it would never be read'], "stderr");
  check("upload to a pipeline that reads no files (exit 1)", await cli(server, ["upload", "orders", drop]), 1, ["pipeline orders reads no files"], "stderr");
  // Without --run: the notification the upload sent starts store-drops' run once 30 s pass without another.
  const landed = join(persistTo, "berlin-2026-11-30.csv");
  writeFileSync(landed, "store_id,order_id,kind,amount,currency,original_order_id,ordered_at\nberlin,3001,sale,5.00,EUR,,2026-11-30T09:00:00Z\n");
  check("upload without --run sends the notification", await cli(server, ["upload", "store-drops", landed]), 0, ["store-drops starts a run once no file has landed for 30.0 s"]);
  const objectRun = await waitFor(async () => {
    const history = JSON.parse((await cli(server, ["--json", "history", "store-drops"])).stdout) as { runs: { pipelineId: string; trigger: string; status: string }[] };
    return history.runs.find((run) => run.trigger === "object" && run.status !== "running") ?? null;
  }, 90_000);
  check("the file landing started one object run that read it", await cli(server, ["status", objectRun?.pipelineId ?? "none", "--pipeline", "store-drops"]), 0, [/· store-drops · object · succeeded/, "extracted 1 = loaded 1 + rejected 0 + skipped 0"]);
  check("npm run pipeline runs the same CLI", await run("npm", ["run", "--silent", "pipeline", "--", "list"], { PIPELINE_API_URL: server.url, PIPELINE_API_TOKEN: TOKEN }), 0, [/^default\s+/m]);

  // Server data that would drive the terminal (ESC sequences, an OSC title, a C1 CSI) is shown escaped.
  const hostile = "\u001b[2J\u001b]0;owned\u0007\u009b31m";
  source.serve([{ id: hostile, value: "not a number", timestamp: 1_700_000_000_000, type: "sensor" }, ...records(1)]);
  const hostileRun = await cli(server, ["trigger", "--wait"]);
  const hostileId = /^(manual-\d+)/m.exec(hostileRun.stdout)?.[1] ?? "missing";
  const shown = await cli(server, ["status", hostileId]);
  check("status shows control characters from the server escaped", shown, 0, ["\\u001b[2J\\u001b]0;owned\\u0007\\u009b31m"]);
  if (/[\u001b\u0007\u009b]/.test(shown.stdout + shown.stderr)) failures.push("a control character reached the terminal");
  source.serve(records(4));
} finally {
  await stopDev(server);
  await source.close();
  rmSync(persistTo, { recursive: true, force: true });
}

/** The API as a script calls it, for what the CLI has no command for (a schedule's cron). */
async function callApi(server: DevServer, method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${await response.text()}`);
}

/**
 * Dataset checks: an orders export with a currency no store sells in is blocked before load (exit 1), and
 * `--wait` and `status` show each check and how to go on; `checks` shows the per-check history; a retry
 * with `--accept-check` (under the labelled token) loads the batch and names who accepted it.
 */
async function datasetChecks(server: DevServer, setOrdersCsv: (csv: string | null) => void): Promise<void> {
  const day = new Date().toISOString().slice(0, 10);
  // Eight lines: row_count (warn) wants at least 20 % of the usual, and a run of the sample stages 39 rows.
  setOrdersCsv(
    "store_id,order_id,kind,amount,currency,original_order_id,ordered_at\n" +
      `berlin,5001,sale,10.00,EUR,,${day}T09:00:00Z\nberlin,5002,sale,11.00,XYZ,,${day}T09:05:00Z\nberlin,5003,sale,12.00,EUR,,${day}T09:10:00Z\nberlin,5004,refund,10.00,EUR,5001,${day}T09:20:00Z\n` +
      `berlin,5005,sale,4.50,EUR,,${day}T09:30:00Z\nberlin,5006,sale,8.00,EUR,,${day}T09:40:00Z\nberlin,5007,sale,2.20,EUR,,${day}T09:50:00Z\nberlin,5008,sale,15.00,EUR,,${day}T10:00:00Z\n`,
  );
  try {
    const blocked = await cli(server, ["trigger", "orders", "--wait"]);
    const blockedId = /^(manual-\d+)/m.exec(blocked.stdout)?.[1] ?? "missing";
    const shown = [
      "checks: blocked the load: 1 of 4 checks failed with severity error, nothing was written",
      /^ {2}✗ accepted_values\(currency\)\s+error\s+expected currency in \[.*\], found 1 offending row · 1 offending, first at position 1 \(berlin\/5002\)$/m,
      /^ {2}✓ reject_rate\s+error\s+expected at most 5 % of the extracted records rejected, found 0 % \(0 of 8\)$/m,
      `to load this batch anyway: npm run pipeline -- retry ${blockedId} --pipeline orders --accept-check 'accepted_values(currency)'`,
      `to judge a new batch after a fix: npm run pipeline -- retry ${blockedId} --pipeline orders --from-stage transform`,
    ];
    check("an export its checks block fails before load (exit 1), --wait showing each check and how to go on", blocked, 1, ["error: checks failed: accepted_values(currency): expected currency in", "extracted 8 = loaded 0 + rejected 0 + skipped 0", ...shown]);
    check("status of the blocked run shows the same", await cli(server, ["status", blockedId]), 1, [`${blockedId} · orders · manual · failed`, ...shown]);
    check("checks shows each check's newest results, the blocked run first", await cli(server, ["checks", "orders"]), 0, [
      /^orders: 4 checks, the newest 20 results of each$/m,
      /^✗ accepted_values\(currency\) · accepted_values · error · last \d+: \d+ passed, [1-9]\d* failed$/m,
      new RegExp(`^ {2}${blockedId}\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\+0[12]:00\\s+failed\\s+✗ failed\\s+currency in`, "m"),
      /^. refund_has_order · relationship · error · /m,
    ]);
    check("a check the pipeline does not declare is a usage error (exit 2)", await cli(server, ["checks", "orders", "--check", "nope"]), 2, ['pipeline orders declares no check named "nope" (it declares reject_rate, accepted_values(currency), refund_has_order, row_count) (check_not_found)'], "stderr");
    check("a pipeline without checks says so", await cli(server, ["checks", "default"]), 0, ["default declares no checks"]);
    check("accepting a check that did not fail is refused (exit 2)", await cli(server, ["retry", blockedId, "--accept-check", "reject_rate"]), 2, ["(checks_not_failed)"], "stderr");

    const accepted = await cli(server, ["retry", blockedId, "--accept-check", "accepted_values(currency)", "--wait"], { PIPELINE_API_TOKEN: OPS_TOKEN });
    check("retry --accept-check loads the checked batch, recording who accepted it", accepted, 0, [
      /^retry-\d+ · orders · retry$/m,
      "extracted 8 = loaded 8 + rejected 0 + skipped 0",
      // row_count compares with the usual size of successful runs: skipped when there were none yet.
      /^checks: 4 checks: [23] passed, 1 failed(, 1 skipped)? \(1 accepted on a retry\)$/m,
      new RegExp(`✗ accepted_values\\(currency\\)\\s+error\\s+.* · accepted by ops at .* on the retry of ${blockedId}$`, "m"),
    ]);
    const retryId = /^(retry-\d+)/m.exec(accepted.stdout)?.[1] ?? "missing";
    check("checks --check shows one check, the acceptance beside its run", await cli(server, ["checks", "orders", "--check", "accepted_values(currency)", "-n", "2"]), 0, [
      /^orders: 1 check, the newest 2 results of each$/m,
      new RegExp(`^ {2}${retryId}\\s+.*succeeded\\s+✗ failed\\s+.*accepted by ops at .* on the retry of ${blockedId}$`, "m"),
      new RegExp(`^ {2}${blockedId}\\s+.*failed\\s+✗ failed\\s+.*-$`, "m"),
    ]);
    check("checks --json prints the API's answer", await cli(server, ["--json", "checks", "orders", "-n", "1"]), 0, ['"pipeline": "orders"', '"limit": 1', `"runId": "${retryId}"`]);
  } finally {
    setOrdersCsv(null);
  }
}

/**
 * `deps` and the waiting state: orders-daily runs after orders, each of its slots waiting for the orders
 * slots of the day before (on Berlin's clock). A backfill of one hour of yesterday while the orders source
 * answers 503 leaves a failed orders slot there; orders-daily's schedule, set to every minute, soon has a
 * slot that waits for it. Retried, the orders slot succeeds and the waiting slot runs (trigger upstream).
 */
async function dataAwareTriggers(server: DevServer, setOrdersStatus: (status: number) => void): Promise<void> {
  check("help lists deps", await cli(server, ["--help"]), 0, [/deps \[pipeline\]\s+which pipeline feeds which/]);
  const graph = await cli(server, ["deps"]);
  check("deps shows which pipeline feeds which, with the slots consumed and the objects that start store-drops", graph, 0, [
    "graph:\n  orders → orders-daily (day)\n  objects scheduled-pipeline-uploads/drops/*.csv → store-drops",
    /^orders · ready · cron 15 \* \* \* \* \(Europe\/Berlin\)\n {2}runs after {3}-\n {2}runs before {2}orders-daily \(day\)$/m,
    /^ {2}runs after {3}orders: each slot waits for the orders slots of the day before it \(day\)$/m,
    /^ {2}waits {8}up to 2h 00m after its slot for its upstream, then the slot is missed \(whenLate: miss\)$/m,
    /^ {2}objects {6}landing in scheduled-pipeline-uploads\/drops\/\*\.csv start a run \(debounce 30\.0 s\)$/m,
  ]);
  const json = await cli(server, ["--json", "deps", "orders-daily"]);
  check("deps --json prints the pipeline's entry as the API has it", json, 0, ['"name": "orders-daily"', /"after": \[\s*\{\s*"pipeline": "orders",\s*"slots": "day"\s*\}\s*\]/]);
  try {
    JSON.parse(json.stdout);
  } catch {
    failures.push("deps --json is not JSON");
  }
  check("deps of an unknown pipeline is a usage error (exit 2)", await cli(server, ["deps", "nope"]), 2, ['no pipeline named "nope"'], "stderr");

  // Yesterday on Berlin's calendar; 10:00 to 11:00 UTC holds its 11:15 (or, in summer, 12:15) slot.
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date());
  const yesterday = new Date(Date.parse(today) - 86_400_000).toISOString().slice(0, 10);
  setOrdersStatus(503);
  const failed = await cli(server, ["backfill", "orders", "--from", `${yesterday}T10:00:00Z`, "--to", `${yesterday}T11:00:00Z`, "--wait"]);
  check("a backfill of one orders hour of yesterday fails while the source is down (exit 1)", failed, 1, [/backfill bf-\d+ failed: 1\/1 slots done \(0 succeeded, 1 failed\)/]);
  const failedRun = /(backfill-\d+-bf-\d+)/.exec(failed.stdout)?.[1] ?? "missing";
  await callApi(server, "PUT", "/api/pipelines/orders-daily/schedule", { cron: "* * * * *", timezone: "Europe/Berlin" });
  try {
    const since = String(Date.now() - 60_000);
    const waiting = await waitFor(async () => {
      const ledger = JSON.parse((await cli(server, ["--json", "slots", "orders-daily", "--from", since])).stdout) as { slots: { state: string }[] };
      return ledger.slots.some((slot) => slot.state === "waiting") ? true : null;
    }, 90_000);
    if (!waiting) failures.push("no orders-daily slot came to wait for orders");
    const owed = `orders: 1 slot not succeeded: ${yesterday} \\d\\d:15:00\\+0[12]:00 failed \\(${failedRun}\\)`;
    check("slots shows the waiting slot, and what of its upstream it waits for", await cli(server, ["slots", "orders-daily", "--from", since]), 0, [
      /^orders-daily: .*\d+ waiting/m,
      /\s+waiting\s+-\s+-\s+-\s+-\s+-\s+waiting for its upstream: orders: 1 slot not succeeded \(1 of the first 1 failed\)$/m,
      new RegExp(`^waiting for their upstream:\n {2}.* waits? for ${owed}$`, "m"),
    ]);
    check("deps shows orders-daily's waiting slots, since when and until when", await cli(server, ["deps", "orders-daily"]), 0, [new RegExp(`^ {2}waiting {6}.*\\((the oldest )?waiting [^,]+, late at [^)]+\\): ${owed}$`, "m")]);

    setOrdersStatus(200);
    check("the failed orders slot, retried, succeeds", await cli(server, ["retry", failedRun, "--wait"]), 0, [/^retry-\d+ · orders · retry$/m]);
    const fed = await waitFor(async () => {
      const history = JSON.parse((await cli(server, ["--json", "history", "orders-daily"])).stdout) as { runs: { pipelineId: string; trigger: string; status: string }[] };
      return history.runs.find((run) => run.trigger === "upstream" && run.status !== "running") ?? null;
    }, 90_000);
    check("the waiting slot ran once its upstream was in; status names the orders run it consumed", await cli(server, ["status", fed?.pipelineId ?? "none", "--pipeline", "orders-daily"]), 0, [
      /· orders-daily · upstream · succeeded/,
      new RegExp(`^upstream orders: 1 run for its slot ${yesterday} \\d\\d:15:00\\+0[12]:00: retry-\\d+$`, "m"),
    ]);
  } finally {
    // Back to its own schedule, so it runs no more each minute.
    await callApi(server, "DELETE", "/api/pipelines/orders-daily/schedule");
    setOrdersStatus(200);
  }
}

if (failures.length > 0) {
  console.log(`CLI test failed: ${failures.length} check(s): ${failures.join("; ")}`);
  process.exit(1);
}
console.log("CLI test passed");
