import type { EventName } from "../../observability/events";
import type { BackoffPolicy } from "../../domain/backoff";
import { alertsFor, type AlertEvent } from "../../domain/alerts";
import { alertMessage, backfillAlertMessage } from "../../alerts/messages";
import type { Run } from "../../domain/run";
import { backfillPath, pipelineBase, publicUrl, runPath } from "../../links";
import { postAlert } from "../../alerts/delivery";
import type { BackfillStore } from "./backfill-store";
import type { RunStore } from "./run-store";

export interface RunAlertsHost {
  env: Env;
  store: RunStore;
  pipeline(): string;
  log(event: EventName, runId: string, fields?: Record<string, unknown>): void;
}

export interface AlertPayload {
  runId: string;
  event: AlertEvent;
}

/**
 * Alerts about runs (failed, cancelled, recovered; blocked by its checks, loaded despite failed checks),
 * sent to ALERT_WEBHOOK_URL from an alarm so they survive a restart. The run records each alert and its
 * delivery; an alert's outcome never changes the run's.
 */
export class RunAlerts {
  constructor(private readonly host: RunAlertsHost) {}

  /** The finished run, with a pending alert for each one it warrants (when a webhook is set). */
  raise(finished: Run): { run: Run; alerts: AlertPayload[] } {
    const events = this.host.env.ALERT_WEBHOOK_URL ? alertsFor(finished, this.host.store.previousFinishedStatus(finished)) : [];
    if (events.length === 0) return { run: finished, alerts: [] };
    const now = Date.now();
    const run: Run = { ...finished, alerts: [...(finished.alerts ?? []), ...events.map((event) => ({ event, status: "pending" as const, attempts: 0, at: now }))] };
    return { run, alerts: events.map((event) => ({ runId: run.runId, event })) };
  }

  /** Posts a backfill's alert and records the outcome on the backfill. */
  async deliverBackfill(backfillId: string, backfills: BackfillStore, retry: BackoffPolicy & { maxAttempts: number }): Promise<void> {
    const { env } = this.host;
    const backfill = backfills.load(backfillId);
    const url = env.ALERT_WEBHOOK_URL;
    // Alarms are at-least-once: an alert already sent is not sent again.
    if (!backfill || !url || backfill.alert?.status !== "pending") return;
    const statusUrl = publicUrl(env.PUBLIC_BASE_URL, backfillPath(pipelineBase(this.host.pipeline()), backfillId));
    const outcome = await postAlert(url, backfillAlertMessage(backfill, statusUrl), retry);
    const latest = backfills.load(backfillId);
    if (latest) backfills.save({ ...latest, alert: { ...outcome, at: Date.now() } });
    this.host.log(outcome.status === "delivered" ? "alert_delivered" : "alert_failed", backfillId, { event: "backfill_failed", attempts: outcome.attempts, error: outcome.error });
  }

  /** Posts the alert and records the outcome on the run. */
  async deliver(payload: AlertPayload): Promise<void> {
    const { env, store } = this.host;
    const stored = store.load(payload.runId);
    const url = env.ALERT_WEBHOOK_URL;
    // Alarms are at-least-once: an alert already sent is not sent again.
    if (!stored || !url || !(stored.run.alerts ?? []).some((alert) => alert.event === payload.event && alert.status === "pending")) return;
    const message = alertMessage(stored.run, payload.event, publicUrl(env.PUBLIC_BASE_URL, runPath(this.host.pipeline(), payload.runId)));
    const outcome = await postAlert(url, message, stored.settings.retry.alerts);
    const latest = store.load(payload.runId);
    if (!latest) return;
    const alerts = [...(latest.run.alerts ?? [])];
    const index = alerts.findLastIndex((entry) => entry.event === payload.event && entry.status === "pending");
    const record = { event: payload.event, ...outcome, at: Date.now() };
    if (index === -1) alerts.push(record);
    else alerts[index] = record;
    store.save({ ...latest.run, alerts }, latest.settings);
    this.host.log(outcome.status === "delivered" ? "alert_delivered" : "alert_failed", payload.runId, { event: payload.event, attempts: outcome.attempts, error: outcome.error });
  }
}
