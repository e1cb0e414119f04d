/**
 * A run started by what arrived rather than by a slot: objects landing in R2 or events posted to the API.
 * It belongs to no slot, so the ledger lists it beside the slots, by what started it.
 */
export interface TriggeredRun {
  runId: string;
  trigger: "object" | "event";
  /** When the run was admitted (its debounce window closed). */
  admittedAt: number;
  objects: { key: string; etag: string }[];
  events: { id: string; idempotencyKey: string | null }[];
}
