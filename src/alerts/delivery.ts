import { nextTry, type RetryPolicy } from "../domain/retry-policy";
import type { AlertMessage, BackfillAlertMessage, LatenessMessage } from "./messages";
import { classifyHttpStatus, parseRetryAfter } from "../domain/failures";
import { redactText } from "../domain/redaction";
import { sleep } from "../agents/coordinator/stage-dispatch";

const ALERT_TIMEOUT_MS = 5_000;

export interface AlertOutcome {
  status: "delivered" | "failed";
  attempts: number;
  error?: string;
}

/**
 * Posts an alert to the webhook, retrying transient failures with the pipeline's backoff (or as long as
 * the receiver's Retry-After asks, within maxDelayMs). The webhook's address is a secret: it is never
 * followed to another address, and never shown.
 */
export async function postAlert(url: string, message: AlertMessage | LatenessMessage | BackfillAlertMessage, policy: RetryPolicy): Promise<AlertOutcome> {
  let error: string | undefined;
  let attempts = 0;
  for (let attempt = 1; ; attempt += 1) {
    attempts = attempt;
    let retryAfterMs: number | null = null;
    let retryable = true;
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(message),
        redirect: "manual",
        signal: AbortSignal.timeout(ALERT_TIMEOUT_MS),
      });
      await response.body?.cancel();
      if (response.ok) return { status: "delivered", attempts };
      error = `the webhook answered HTTP ${response.status}`;
      retryable = classifyHttpStatus(response.status) === "transient";
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), Date.now());
    } catch (caught) {
      error = `the webhook could not be reached: ${redactText(caught instanceof Error ? caught.message : String(caught), [url])}`;
    }
    const next = nextTry(policy, attempt, { retryable, retryAfterMs });
    if (!next.again) break;
    await sleep(next.delayMs);
  }
  return { status: "failed", attempts, ...(error ? { error } : {}) };
}
