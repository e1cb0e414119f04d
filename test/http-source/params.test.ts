/**
 * Run parameters through the API: checked against the pipeline's params schema (400 naming the field),
 * kept on the run, sent to the source through `{{params.*}}`, given to the transform; a scheduled run
 * gets the schema's defaults.
 */
import { env } from "cloudflare:workers";
import { http, HttpResponse } from "msw";
import { describe, expect, it } from "vitest";
import { network } from "../support/network";
import { api, apiJson, fireArmedSlot, finished, uniqueName } from "../support/runtime";
import { DAILY_SOURCE, dailyPipeline } from "../support/test-pipelines";
import { getAgentByName } from "agents";

const trigger = (base: string, body: unknown) => apiJson(`${base}/trigger?wait=true`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

function source() {
  const urls: URL[] = [];
  network.use(
    http.get(`${DAILY_SOURCE}/:file`, ({ params, request }) => {
      urls.push(new URL(request.url));
      return HttpResponse.json([{ id: "p", day: String(params.file).replace(/\.json$/, ""), value: 10 }]);
    }),
  );
  return urls;
}

describe("run parameters", () => {
  it("refuses params that do not fit, naming each field, and starts nothing", async () => {
    const name = dailyPipeline(uniqueName("params"));
    const base = `/api/pipelines/${name}`;
    const urls = source();
    const wrong = await trigger(base, { params: { region: "asia", factor: -1 } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors).toEqual([{ code: "invalid_params", message: expect.stringMatching(/^invalid params: params\.region: .*"eu".*"us".*; params\.factor: .*>0/) }]);
    const typo = await trigger(base, { params: { regoin: "us" } });
    expect(typo.body.errors).toEqual([{ code: "invalid_params", message: `invalid params: params.regoin: is not a param: pipeline ${name} takes region, factor` }]);
    // Every own key is a name to check, the ones JavaScript objects treat specially included.
    for (const name of ["__proto__", "constructor", "toString"]) {
      const special = await api(`${base}/trigger`, { method: "POST", headers: { "content-type": "application/json" }, body: `{"params":{"${name}":{"regoin":2}}}` });
      expect(special.status, name).toBe(400);
      expect(((await special.json()) as { errors: unknown[] }).errors[0]).toEqual({ code: "invalid_params", message: expect.stringMatching(new RegExp(`^invalid params: params\\.${name}: is not a param`)) });
    }
    const backfill = await api(`${base}/backfill`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"from":"2026-11-01","to":"2026-11-02","params":{"__proto__":{"region":"us"}}}' });
    expect(backfill.status).toBe(400);
    const notObject = await trigger(base, { params: ["us"] });
    expect(notObject.body.errors[0]).toEqual({ code: "invalid_body", message: "invalid body: params: must be an object of parameters" });
    const forDefault = await trigger("/api/pipeline", { params: { region: "us" } });
    expect(forDefault.body.errors[0]).toEqual({ code: "invalid_params", message: "invalid params: params.region: is not a param: pipeline default takes no params" });
    expect(urls).toEqual([]);
    expect((await apiJson(`${base}/history`)).body.runs).toEqual([]);
  });

  it("keeps accepted params on the run, sends them to the source and gives them to the transform", async () => {
    const name = dailyPipeline(uniqueName("params"));
    const base = `/api/pipelines/${name}`;
    const urls = source();
    const accepted = await trigger(base, { note: "US rerun", params: { region: "us", factor: 2.5 } });
    expect(accepted.status).toBe(200);
    const run = accepted.body.run;
    expect(run).toMatchObject({ status: "succeeded", note: "US rerun", params: { region: "us", factor: 2.5 } });
    expect(urls[0]!.searchParams.get("region")).toBe("us");
    expect(run.source.url).toBe(urls[0]!.toString());
    const row = await env.DB.prepare("SELECT region, value FROM test_daily WHERE run_id = ?").bind(run.pipelineId).first();
    expect(row).toEqual({ region: "us", value: 25 });
    expect((await apiJson(`${base}/runs/${run.pipelineId}`)).body.params).toEqual({ region: "us", factor: 2.5 });
  });

  it("a scheduled run gets the defaults, and reads its slot's day", async () => {
    const name = dailyPipeline(uniqueName("params"));
    const urls = source();
    const scheduler = await getAgentByName(env.PipelineScheduler, name);
    const [view] = await scheduler.describeSchedule();
    const slot = view!.nextExecuteAt!;
    expect(await fireArmedSlot(name)).toBe(true);
    const coordinator = await getAgentByName(env.PipelineCoordinator, name);
    const run = await finished(() => coordinator.getRun(`scheduled-${slot}`));
    expect(run).toMatchObject({ status: "succeeded", trigger: "scheduled", params: { region: "eu", factor: 1 } });
    const day = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(new Date(slot));
    expect(urls[0]!.pathname).toBe(`/daily/${day}.json`);
  });
});
