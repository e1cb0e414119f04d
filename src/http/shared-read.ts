/**
 * Concurrent requests for the same expensive read share one execution, and none gets an answer older
 * than itself: a request that arrives while a read is in flight waits for the next one, which the first
 * of the waiting requests starts once the current one ends (in its own request: on Workers, I/O belongs
 * to the request that started it). If a shared read fails, each waiting request reads for itself, so a
 * failure is only ever its own. Under load the work is done about twice per round trip instead of once
 * per request; a lone request sees no difference.
 */
export class SharedRead<T> {
  private current: { generation: number; result: Promise<T> } | null = null;
  private generation = 0;

  constructor(private readonly read: () => Promise<T>) {}

  async get(): Promise<T> {
    const inFlight = this.current;
    if (!inFlight) return this.start();
    await inFlight.result.then(noop, noop);
    const next = this.current;
    // Started after this request arrived (by another waiter): share it. Otherwise this request starts it.
    const shared = next !== null && next.generation > inFlight.generation ? next.result : this.start();
    return shared.catch(() => this.read());
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
}

function noop(): void {}
