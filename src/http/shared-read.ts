/**
 * Concurrent requests for the same expensive read share one execution, and none gets an answer older
 * than itself: a request that arrives while a read is in flight waits for the next one, which the first
 * of the waiting requests starts once the current one ends (in its own request: on Workers, I/O belongs
 * to the request that started it). If a shared read fails, or does not settle within `waitMs` (its
 * request was cancelled, say), each waiting request reads for itself and the stuck read is forgotten, so
 * a failure is only ever its own. Under load the work is done about twice per round trip instead of once
 * per request; a lone request sees no difference.
 */
export class SharedRead<T> {
  private current: { generation: number; result: Promise<T> } | null = null;
  private generation = 0;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly waitMs = 5_000,
  ) {}

  async get(): Promise<T> {
    const inFlight = this.current;
    if (!inFlight) return this.start();
    if (!(await this.settles(inFlight))) return this.read();
    const next = this.current;
    // Started after this request arrived (by another waiter): share it. Otherwise this request starts it.
    if (next !== null && next.generation > inFlight.generation) {
      if (!(await this.settles(next))) return this.read();
      return next.result.catch(() => this.read());
    }
    return this.start().catch(() => this.read());
  }

  private start(): Promise<T> {
    const entry = { generation: ++this.generation, result: this.read() };
    this.current = entry;
    const clear = () => {
      if (this.current === entry) this.current = null;
    };
    entry.result.then(clear, clear);
    return entry.result;
  }

  /** Whether another request's read settles in time; one that does not is forgotten. */
  private async settles(entry: { generation: number; result: Promise<T> }): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      entry.result.then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.waitMs);
      }),
    ]);
    clearTimeout(timer);
    if (!settled && this.current === entry) this.current = null;
    return settled;
  }
}
