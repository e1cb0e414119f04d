/**
 * Long stage loops give the event loop a turn every so often. Locally every agent and the Worker share
 * one isolate, and a stage crunching records would otherwise hold off every other request (even
 * /api/health) until it finishes; in production it keeps the stage's own object responsive to cancels.
 * Small stages never yield: a turn handed away mid-stage only delays them.
 */
export class Yielder {
  private sinceYield = 0;

  constructor(private readonly every = 2_500) {}

  /** Counts `records` of work done and yields once enough has piled up since the last yield. */
  async after(records: number): Promise<void> {
    this.sinceYield += records;
    if (this.sinceYield < this.every) return;
    this.sinceYield = 0;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
