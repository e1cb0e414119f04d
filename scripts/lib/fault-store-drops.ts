import { queryLocal, queryLocalMany, sleep, type DevServer } from "./wrangler-dev.ts";
import { api, apiResponse, killServer, resumeAfterKill, seconds, serverOf, type FaultContext } from "./fault-kit.ts";

/**
 * store-drops, killed while it reads its objects: a few hundred CSV files uploaded through the API, a run
 * triggered, `wrangler dev` SIGKILLed while extract (several agents side by side, one share of the objects
 * each) is part-way through, the server started again on the same state. The run must resume and succeed
 * with exactly the expected rows in D1, each object committed once in the ledger, and a second run must
 * read nothing.
 */

const SCENARIO = "store-drops";
const PIPELINE = "store-drops";
const HEADER = "store_id,order_id,kind,amount,currency,original_order_id,ordered_at";

/** Counts read back from D1 (each query names the ones it has). */
type Counts = Record<string, number | undefined>;

export interface DropsOptions {
  files: number;
  rowsPerFile: number;
}

/** Every file's text and what the run must make of all of them, exactly. */
export interface DropsData {
  files: { name: string; text: string }[];
  lines: number;
  valid: number;
  rejected: number;
}

/**
 * Deterministic drops: file f belongs to store `store-<f % 25>`, its orders are `<f>-<row>` (unique over
 * all files). Some lines are bad on purpose: an amount with three decimals and a refund naming no original
 * order (rejected by transform) in every tenth file, a line with too few fields (rejected by extract) in
 * every twentieth, a line repeated (the second rejected by load as a duplicate) in every twenty-fifth.
 * With the source's defaults (4 readers, at least 25 objects each), 100 files or more are read by four
 * extract agents side by side.
 */
export function dropsData({ files, rowsPerFile }: DropsOptions): DropsData {
  const out: DropsData["files"] = [];
  let lines = 0;
  let valid = 0;
  let rejected = 0;
  for (let f = 0; f < files; f += 1) {
    const store = `store-${String(f % 25).padStart(2, "0")}`;
    const rows: string[] = [HEADER];
    for (let r = 0; r < rowsPerFile; r += 1) {
      const cents = 100 + ((f * 7919 + r * 104_729) % 50_000);
      const amount = `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
      const at = `2026-11-${String(1 + (f % 28)).padStart(2, "0")}T${String(r % 24).padStart(2, "0")}:${String(r % 60).padStart(2, "0")}:00Z`;
      if (f % 10 === 0 && r === 7) {
        rows.push(`${store},${f}-${r},sale,12.345,EUR,,${at}`);
        rejected += 1;
      } else if (f % 10 === 0 && r === 8) {
        rows.push(`${store},${f}-${r},refund,${amount},EUR,,${at}`);
        rejected += 1;
      } else if (r % 100 === 99) {
        rows.push(`${store},${f}-${r},refund,${amount},EUR,${f}-${r - 1},${at}`);
        valid += 1;
      } else {
        rows.push(`${store},${f}-${r},sale,${amount},EUR,,${at}`);
        valid += 1;
      }
    }
    if (f % 20 === 5) {
      rows.push(`${store},broken-line-${f}`);
      rejected += 1;
    }
    if (f % 25 === 3) {
      rows.push(rows[2]!); // the file's second order again: same key
      rejected += 1;
    }
    lines += rows.length - 1;
    out.push({ name: `${store}/drop-${String(f).padStart(4, "0")}.csv`, text: `${rows.join("\n")}\n` });
  }
  return { files: out, lines, valid, rejected };
}

export async function storeDropsScenario(context: FaultContext, options: DropsOptions): Promise<void> {
  const { checks } = context;
  const check = (name: string, ok: boolean, detail = "") => checks.check(SCENARIO, name, ok, detail);
  const data = dropsData(options);
  let server = serverOf(context);

  // Its own schedule (every 15 minutes) must not start a run of its own in the middle of this.
  const paused = await apiResponse(server, `/api/pipelines/${PIPELINE}/schedule/pause`, { method: "POST" });
  if (!paused.ok) throw new Error(`pausing ${PIPELINE}'s schedule answered ${paused.status}: ${await paused.text()}`);

  const uploadStarted = Date.now();
  let next = 0;
  const uploadOne = async () => {
    while (next < data.files.length) {
      const file = data.files[next++]!;
      const body = Buffer.from(file.text);
      const response = await apiResponse(server, `/api/pipelines/${PIPELINE}/uploads/${file.name}`, {
        method: "PUT",
        headers: { "content-type": "text/csv", "content-length": String(body.byteLength) },
        body,
      });
      if (response.status !== 201) throw new Error(`uploading ${file.name} answered ${response.status}: ${await response.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, uploadOne));
  const bytes = data.files.reduce((sum, file) => sum + Buffer.byteLength(file.text), 0);
  console.log(`${SCENARIO}: uploaded ${data.files.length} files (${(bytes / 1024 / 1024).toFixed(1)} MiB, ${data.lines} lines) in ${seconds(Date.now() - uploadStarted)}`);

  const trigger = await api(server, `/api/pipelines/${PIPELINE}/trigger`, { method: "POST" });
  const runId: string = trigger.pipelineId;
  if (!runId || trigger.error) throw new Error(`trigger failed: ${JSON.stringify(trigger)}`);
  const triggeredAt = Date.now();

  // Killed once extract has read a good part of the lines, so its readers are caught at work.
  const killAfter = Math.floor(data.lines * 0.4);
  let killedAt = "";
  let killed: DevServer | undefined;
  const deadline = Date.now() + 120_000;
  while (!killedAt && Date.now() < deadline) {
    const run = await api(server, `/api/pipelines/${PIPELINE}/runs/${runId}`);
    if (run.status !== "running") throw new Error(`run ${runId} ended (${run.status}) before extract could be interrupted: ${JSON.stringify(run).slice(0, 1500)}`);
    const extract = run.stages?.find((stage: any) => stage.name === "extract");
    if (run.currentStage === "extract" && (extract?.inputCount ?? 0) >= killAfter) {
      killedAt = `extract, ${extract.inputCount} of ${data.lines} lines read, ${seconds(Date.now() - triggeredAt)} after the trigger`;
      killed = await killServer(context);
    } else if (run.currentStage !== null && run.currentStage !== "extract") {
      throw new Error(`run ${runId} left extract (now ${run.currentStage}) before ${killAfter} lines were seen read`);
    } else {
      await sleep(40);
    }
  }
  if (!killedAt) throw new Error(`never saw extract of ${runId} at work`);
  console.log(`${SCENARIO}: killed wrangler dev during ${killedAt}; restarting`);

  // With the server down, what the ledger held at the kill: claims of readers that finished, none committed.
  const [atKill] = queryLocal<{ claimed: number; committed: number }>(
    context.persistTo,
    `SELECT COUNT(*) AS claimed, COALESCE(SUM(committed_run_id IS NOT NULL), 0) AS committed FROM source_objects WHERE pipeline = '${PIPELINE}'`,
  );
  check("at the kill, no object counts as read yet", (atKill?.committed ?? -1) === 0, `${atKill?.claimed ?? "?"} claimed by finished readers, ${atKill?.committed ?? "?"} committed`);

  const resumed = await resumeAfterKill(context, killed, { name: SCENARIO, pipeline: PIPELINE, runId, timeoutMs: 240_000, check });
  server = resumed.server;
  const run = resumed.run;
  const extract = run.stages?.find((stage: any) => stage.name === "extract");
  const { accounting } = run;
  check("extract was attempted again after the kill", (extract?.attempts ?? 0) >= 2, `extract attempts ${extract?.attempts}`);
  check("accounting balances", accounting?.balanced === true, `${accounting?.extracted} = ${accounting?.loaded} + ${accounting?.rejected} + ${accounting?.skipped}`);
  check(
    "every line extracted, the valid ones loaded, the bad ones rejected",
    accounting?.extracted === data.lines && accounting?.loaded === data.valid && accounting?.rejected === data.rejected,
    `extracted ${accounting?.extracted}/${data.lines}, loaded ${accounting?.loaded}/${data.valid}, rejected ${accounting?.rejected}/${data.rejected}`,
  );
  check(
    "the run read every uploaded object",
    run.source?.objectCounts?.read === data.files.length,
    `objects read ${run.source?.objectCounts?.read}, passed over ${run.source?.objectCounts?.skipped}, of ${data.files.length}`,
  );

  // Everything is read: the next run finds nothing new.
  const second = await api(server, `/api/pipelines/${PIPELINE}/trigger?wait=true`, { method: "POST" });
  const counts = second.run?.source?.objectCounts;
  check(
    "a second run reads 0 objects and 0 records",
    second.run?.status === "succeeded" && counts?.read === 0 && counts?.skipped === data.files.length && second.run?.accounting?.extracted === 0,
    `${second.pipelineId} ${second.run?.status}: objects read ${counts?.read}, passed over ${counts?.skipped}, extracted ${second.run?.accounting?.extracted}`,
  );

  context.afterStop.push(() => {
    const [[rows], [rejected], [ledger]] = queryLocalMany(context.persistTo, [
      `SELECT COUNT(*) AS total, COUNT(DISTINCT store_id || '/' || order_id) AS distinct_keys, COALESCE(SUM(run_id != '${runId}'), 0) AS other_runs FROM store_drops`,
      `SELECT COUNT(*) AS total, COUNT(DISTINCT position) AS distinct_positions FROM rejected_records WHERE pipeline = '${PIPELINE}' AND run_id = '${runId}'`,
      `SELECT COUNT(*) AS total, COUNT(DISTINCT object_key) AS distinct_keys, COALESCE(SUM(committed_run_id IS NULL), 0) AS uncommitted, ` +
        `COALESCE(SUM(committed_run_id != '${runId}'), 0) AS other_runs, COALESCE(SUM(records), 0) AS records FROM source_objects WHERE pipeline = '${PIPELINE}'`,
    ]) as [[Counts | undefined], [Counts | undefined], [Counts | undefined]];
    check(
      "D1 store_drops holds exactly the valid orders, each once, all from that run",
      rows?.total === data.valid && rows?.distinct_keys === data.valid && rows?.other_runs === 0,
      `COUNT(*) ${rows?.total}, distinct keys ${rows?.distinct_keys}, expected ${data.valid}; rows of other runs ${rows?.other_runs}`,
    );
    check(
      "rejected_records holds each bad line once",
      rejected?.total === data.rejected && rejected?.distinct_positions === data.rejected,
      `${rejected?.total} rows, ${rejected?.distinct_positions} positions, expected ${data.rejected}`,
    );
    check(
      "source_objects has every uploaded object committed, exactly once, by that run",
      ledger?.total === data.files.length && ledger?.distinct_keys === data.files.length && ledger?.uncommitted === 0 && ledger?.other_runs === 0 && ledger?.records === data.lines,
      `${ledger?.total} rows, ${ledger?.distinct_keys} keys, ${ledger?.uncommitted} uncommitted, ${ledger?.other_runs} committed by another run, ${ledger?.records} records, expected ${data.files.length} objects and ${data.lines} records`,
    );
  });
}
