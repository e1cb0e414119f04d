import { classifyHttpStatus, StageFailure } from "../domain/failures";
import type { RawRecord } from "../domain/records";
import { parseSourcePayload } from "../domain/source-payload";

/**
 * Fetches a JSON array of records from an HTTP source. Every failure names the source and the problem,
 * and says whether trying again could help (network, timeout, 408/429/5xx) or not (other 4xx, bad payload).
 */
export async function fetchJsonRecords(url: string, timeoutMs: number, signal: AbortSignal): Promise<RawRecord[]> {
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: "application/json" },
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) {
      throw new StageFailure(`the source ${url} did not answer within ${timeoutMs} ms`, "transient");
    }
    // fetch() only throws when there was no HTTP answer at all: a network problem, worth another try.
    throw new StageFailure(`could not reach the source ${url}: ${error instanceof Error ? error.message : String(error)}`, "transient");
  }
  if (!response.ok) {
    await response.body?.cancel();
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    throw new StageFailure(`the source ${url} answered HTTP ${status}`, classifyHttpStatus(response.status));
  }
  let body: string;
  try {
    body = await response.text();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    throw new StageFailure(`the source ${url} broke off its answer: ${error instanceof Error ? error.message : String(error)}`, "transient");
  }
  const payload = parseSourcePayload(body);
  if (!payload.ok) throw new StageFailure(`${payload.reason} (source ${url})`, "permanent");
  return payload.records;
}
