import { parseSourcePayload } from "../domain/source-payload";
import type { RawRecord } from "../domain/records";
import { StageFailure } from "../domain/stage-failure";

/** Fetches a JSON array of records from an HTTP source, failing with a message that names the problem. */
export async function fetchJsonRecords(url: string, timeoutMs: number): Promise<RawRecord[]> {
  let response: Response;
  try {
    response = await fetch(url, { headers: { accept: "application/json" }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      throw new StageFailure(`the source ${url} did not answer within ${timeoutMs} ms`);
    }
    throw new StageFailure(`could not reach the source ${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new StageFailure(`the source ${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  const payload = parseSourcePayload(await response.text());
  if (!payload.ok) throw new StageFailure(`${payload.reason} (source ${url})`);
  return payload.records;
}
