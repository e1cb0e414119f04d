import { retryDelay, type BackoffPolicy } from "../domain/backoff";
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
export async function postAlert(url: string, message: AlertMessage | LatenessMessage | BackfillAlertMessage, retry: BackoffPolicy & { maxAttempts: number }): Promise<AlertOutcome> {
  let error: string | undefined;
  let attempts = 0;
  for (let attempt = 1; attempt <= retry.maxAttempts; attempt += 1) {
    attempts = attempt;
    let retryAfterMs: number | null = null;
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
      if (classifyHttpStatus(response.status) === "permanent") break;
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), Date.now());
    } catch (caught) {
      error = `the webhook could not be reached: ${redactText(caught instanceof Error ? caught.message : String(caught), [url])}`;
    }
    if (attempt < retry.maxAttempts) await sleep(retryDelay(attempt, retry, { retryAfterMs }));
  }
  return { status: "failed", attempts, ...(error ? { error } : {}) };
}
