import type { StagedData } from "../domain/staged-data";

/** A chunk a stage has written to the staging store, announced as soon as it is there. */
export interface FedChunk {
  key: string;
  count: number;
}

/**
 * What a follower hears: chunks after the ones it has (`from`) in the current read of the source, the
 * stage's final output once it has succeeded, or that it failed. A new `generation` means the stage
 * started its read over (another try of a source, the next source): what the follower made of the earlier
 * chunks no longer counts.
 */
export type FeedNews =
  | { kind: "chunks"; generation: number; from: number; chunks: FedChunk[] }
  | { kind: "done"; generation: number; output: StagedData }
  | { kind: "failed"; reason: string };

/** How long a follower may wait for the stage it follows to begin before it gives up on it. */
export const FEED_START_WAIT_MS = 30_000;

/**
 * The chunks one stage attempt has staged so far, for a later stage that works on them while it goes on
 * (transform following extract). It lives in the memory of the attempt's agent: if that agent is reset,
 * the attempt is gone with it and so is the feed, and the follower fails rather than wait.
 */
export class ChunkFeed {
  private generation = 0;
  private chunks: FedChunk[] = [];
  private ending: { kind: "done"; output: StagedData } | { kind: "failed"; reason: string } | null = null;
  private waiters = new Set<() => void>();

  constructor(
    /** When the first follower asked (or the attempt began): a feed nobody starts is given up on. */
    readonly openedAt: number,
    private started = false,
  ) {}

  /** The attempt begins reading (again): chunks published before this belong to a read that no longer counts. */
  restart(): void {
    this.started = true;
    this.generation += 1;
    this.chunks = [];
    this.wake();
  }

  begin(): void {
    this.started = true;
  }

  publish(chunk: FedChunk): void {
    this.chunks.push(chunk);
    this.wake();
  }

  finish(output: StagedData): void {
    this.ending ??= { kind: "done", output };
    this.wake();
  }

  fail(reason: string): void {
    this.ending ??= { kind: "failed", reason };
    this.wake();
  }

  /** What is new for a follower at (`generation`, `from`) now, or null when nothing is. */
  news(generation: number, from: number, now: number): FeedNews | null {
    if (this.ending?.kind === "failed") return this.ending;
    if (this.ending) return { kind: "done", generation: this.generation, output: this.ending.output };
    if (this.generation !== generation) return { kind: "chunks", generation: this.generation, from: 0, chunks: [...this.chunks] };
    if (this.chunks.length > from) return { kind: "chunks", generation, from, chunks: this.chunks.slice(from) };
    if (!this.started && now - this.openedAt > FEED_START_WAIT_MS) return { kind: "failed", reason: `the stage it follows did not begin within ${FEED_START_WAIT_MS} ms` };
    return null;
  }

  /** Waits until there is news for the follower, at most `waitMs` (then an empty batch: it asks again). */
  async next(generation: number, from: number, waitMs: number): Promise<FeedNews> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const news = this.news(generation, from, Date.now());
      if (news) return news;
      const left = deadline - Date.now();
      if (left <= 0) return { kind: "chunks", generation: this.generation, from, chunks: [] };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(left, FEED_START_WAIT_MS));
        this.waiters.add(done);
      });
    }
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }
}
