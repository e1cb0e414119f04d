/**
 * Long stage loops give the event loop a turn every so often. Locally every agent and the Worker share
 * one isolate, and a stage crunching records would otherwise hold off every other request (even
 * /api/health) until it finishes; in production it keeps the stage's own object responsive to cancels.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
