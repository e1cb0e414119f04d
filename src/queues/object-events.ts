import { parseNotification, routeNotification, type ObjectArrival, type ObjectListener } from "../domain/object-notifications";
import type { Pipeline } from "../engine/define-pipeline";
import { resolveTriggers } from "../engine/triggers";
import { logEvent } from "../observability/log";
import { deployment } from "../pipelines";

/**
 * The Worker's queue consumer: R2 event notifications (OBJECT_EVENTS, `scheduled-pipeline-object-events`)
 * to the schedulers of the pipelines whose `triggers.objects` each concerns, one call per pipeline per
 * batch. A message is acknowledged once every pipeline it concerns has taken it, and retried otherwise (a
 * pipeline that took it already knows the object by key and etag, and ignores the repeat); after the
 * consumer's `max_retries` it goes to the dead-letter queue. A message that is no notification, or one
 * that concerns no pipeline, is acknowledged and logged: retrying it could never help.
 */
export async function consumeObjectEvents(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const listeners = objectListeners(deployment.all());
  const perPipeline = new Map<string, { arrivals: ObjectArrival[]; messages: Message<unknown>[] }>();
  for (const message of batch.messages) {
    const parsed = parseNotification(message.body);
    if (!parsed.ok) {
      logEvent("notification_invalid", { pipeline: null, queue: batch.queue, messageId: message.id, attempts: message.attempts, error: parsed.reason });
      message.ack();
      continue;
    }
    const routed = routeNotification(parsed.notification, listeners, message.timestamp.getTime());
    if (routed.kind === "ignored") {
      logEvent("notification_ignored", { pipeline: null, queue: batch.queue, messageId: message.id, reason: routed.reason });
      message.ack();
      continue;
    }
    for (const pipeline of routed.pipelines) {
      const entry = perPipeline.get(pipeline) ?? { arrivals: [], messages: [] };
      entry.arrivals.push(routed.arrival);
      entry.messages.push(message);
      perPipeline.set(pipeline, entry);
    }
  }
  const entries = [...perPipeline];
  const results = await Promise.allSettled(entries.map(([pipeline, entry]) => env.PipelineScheduler.getByName(pipeline).objectsArrived(entry.arrivals)));
  const failed = new Set<Message<unknown>>();
  results.forEach((result, index) => {
    if (result.status === "fulfilled") return;
    const [pipeline, entry] = entries[index]!;
    logEvent("notification_retried", { queue: batch.queue, pipeline, messages: entry.messages.length, error: String(result.reason) });
    for (const message of entry.messages) failed.add(message);
  });
  const routed = new Set([...perPipeline.values()].flatMap((entry) => entry.messages));
  for (const message of routed) {
    if (failed.has(message)) message.retry();
    else message.ack();
  }
}

/** The pipelines that listen for objects, with what they listen for. */
export function objectListeners(pipelines: readonly Pipeline[]): ObjectListener[] {
  return pipelines.flatMap((pipeline) => {
    const objects = resolveTriggers(pipeline.triggers, { deadlineMs: null }).objects;
    return objects ? [{ pipeline: pipeline.name, bucket: objects.bucket, prefix: objects.prefix, suffix: objects.suffix, debounceMs: objects.debounceMs }] : [];
  });
}
