import type { LogLevel } from "./log-levels";

/**
 * Every event the service logs, with its level: one list, so a line's level is decided here and nowhere
 * else, and an event that is not in it does not compile. Steps of a run that goes well are debug (the
 * run's end line sums them up); what an operator should look at is warn; our own bugs are error.
 */
export const EVENTS = {
  // A run's way: its end line is the one to read.
  run_started: "debug",
  stage_started: "debug",
  stage_following: "debug",
  stage_followed: "debug",
  stage_succeeded: "debug",
  checks_judged: "info",
  blocked_rejections_unsaved: "warn",
  contract_new_fields: "info",
  run_succeeded: "info",
  run_failed: "warn",
  run_cancelled: "warn",
  run_skipped: "info",
  run_queued: "info",
  run_cancelling: "info",
  run_retrying: "info",
  run_resumed: "warn",
  run_stalled: "warn",
  stage_retrying: "warn",
  stage_failed: "warn",
  slot_covered: "info",
  rows_uncounted: "warn",
  load_still_writing: "warn",
  staged_load_undropped: "warn",
  source_commit_failed: "warn",
  definition_changed: "warn",
  // Upkeep.
  history_pruned: "info",
  prune_failed: "warn",
  staging_cleanup_failed: "warn",
  // Backfills.
  backfill_started: "info",
  backfill_succeeded: "info",
  backfill_failed: "warn",
  backfill_cancelled: "info",
  next_run_not_started: "warn",
  // Alerts.
  alert_delivered: "info",
  alert_failed: "warn",
  // The schedule.
  slot_delivered: "info",
  slot_executed: "info",
  slot_not_run: "warn",
  slots_dropped: "warn",
  schedule_changed: "info",
  schedule_reset: "info",
  schedule_not_armed: "warn",
  pipeline_removed: "warn",
  alarm_rearmed: "warn",
  run_late: "warn",
  slot_missed: "warn",
  upstream_late: "warn",
  // Data-aware triggers: upstream gates, cascades, object notifications, API events.
  slot_waiting: "info",
  slot_released: "info",
  upstream_notified: "debug",
  upstream_notify_failed: "warn",
  cascade_started: "info",
  cascade_not_started: "warn",
  cascade_notify_failed: "warn",
  object_received: "debug",
  object_ignored: "info",
  objects_admitted: "info",
  objects_waiting: "info",
  notification_invalid: "warn",
  notification_ignored: "debug",
  notification_retried: "warn",
  event_received: "info",
  events_admitted: "info",
  trigger_not_started: "warn",
  // The deployment.
  invalid_definition: "error",
  api_tokens_invalid: "error",
  wake_failed: "error",
  // Our bugs.
  stage_error: "error",
  driver_error: "error",
  unhandled_error: "error",
} as const satisfies Record<string, LogLevel>;

export type EventName = keyof typeof EVENTS;

/** The line a run's end writes, by the status it ended with. */
export const RUN_END_EVENTS = { succeeded: "run_succeeded", failed: "run_failed", cancelled: "run_cancelled", skipped: "run_skipped" } as const satisfies Record<string, EventName>;

/** The line a backfill's end writes. */
export const BACKFILL_END_EVENTS = { succeeded: "backfill_succeeded", failed: "backfill_failed", cancelled: "backfill_cancelled" } as const satisfies Record<string, EventName>;

export function levelOf(event: EventName): LogLevel {
  return EVENTS[event];
}
