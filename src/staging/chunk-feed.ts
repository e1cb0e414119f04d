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
 * chunks no longer counts. `begun`: the attempt has started reading here; a follower that saw it begin
 * and then hears of a feed that has not is talking to a fresh agent (the first one was reset).
 */
export type FeedNews =
  | { kind: "chunks"; generation: number; from: number; chunks: FedChunk[]; begun: boolean }
  | { kind: "done"; generation: number; output: StagedData }
  | { kind: "failed"; reason: string };

/** How long a follower may wait for the stage it follows to begin before it gives up on it. */
export const FEED_START_WAIT_MS = 30_000;

/**
 * How long an attempt's agent stays for a follower that has not yet heard how the attempt ended. A
 * follower asks again only once it has worked through what it was handed, so a slow one may be minutes
 * behind a fast extract; the agent outliving it by this much lets it finish instead of losing the feed.
 */
export const FOLLOWER_WAIT_MS = 60 * 60_000;

/**
 * The generation a feed counts from: random, so that generations of different agents never meet. An
 * attempt called again on a fresh agent (its first one was reset) reads the source again in a feed of its
 * own; a follower of the first read must see a generation it does not know, never its own again.
 */
function randomEpoch(): number {
  return Math.floor(Math.random() * 2 ** 31) * 2 ** 20;
}

/**
 * The chunks one stage attempt has staged so far, for a later stage that works on them while it goes on
 * (transform following extract). It lives in the memory of the attempt's agent: if that agent is reset,
 * the attempt is gone with it and so is the feed, and the follower fails rather than wait.
 */
export class ChunkFeed {
  private generation: number;
  private chunks: FedChunk[] = [];
  private ending: { kind: "done"; output: StagedData } | { kind: "failed"; reason: string } | null = null;
  private endedAt = 0;
  /** Whether a follower has asked, and whether one has been told how the attempt ended. */
  private followed = false;
  private endingHeard = false;
  private waiters = new Set<() => void>();

  constructor(
    /** When the first follower asked (or the attempt began): a feed nobody starts is given up on. */
    readonly openedAt: number,
    private started = false,
    epoch = randomEpoch(),
  ) {
    this.generation = epoch;
  }

  /**
   * The attempt begins reading (again): chunks published before this belong to a read that no longer
   * counts, and so does how an earlier call of the same attempt ended (a stopped follower called again).
   */
  restart(): void {
    this.started = true;
    this.generation += 1;
    this.chunks = [];
    this.ending = null;
    this.endingHeard = false;
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
    this.end({ kind: "done", output });
  }

  fail(reason: string): void {
    this.end({ kind: "failed", reason });
  }

  /**
   * A follower asked about an attempt that began here and has not been told how it ended: for at most
   * FOLLOWER_WAIT_MS after the end (or after the feed opened, if it never ended).
   */
  awaitsFollower(now: number): boolean {
    return this.started && this.followed && !this.endingHeard && now - (this.ending ? this.endedAt : this.openedAt) < FOLLOWER_WAIT_MS;
  }

  /** What is new for a follower at (`generation`, `from`) now, or null when nothing is. */
  news(generation: number, from: number, now: number): FeedNews | null {
    if (this.ending?.kind === "failed") return this.ending;
    if (this.ending) return { kind: "done", generation: this.generation, output: this.ending.output };
    if (this.generation !== generation) return { kind: "chunks", generation: this.generation, from: 0, chunks: [...this.chunks], begun: this.started };
    if (this.chunks.length > from) return { kind: "chunks", generation, from, chunks: this.chunks.slice(from), begun: this.started };
    if (!this.started && now - this.openedAt > FEED_START_WAIT_MS) return { kind: "failed", reason: `the stage it follows did not begin within ${FEED_START_WAIT_MS} ms` };
    return null;
  }

  /** Waits until there is news for the follower, at most `waitMs` (then an empty batch: it asks again). */
  async next(generation: number, from: number, waitMs: number): Promise<FeedNews> {
    this.followed = true;
    const deadline = Date.now() + waitMs;
    for (;;) {
      const news = this.news(generation, from, Date.now());
      if (news) {
        if (news.kind !== "chunks") this.endingHeard = true;
        return news;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { kind: "chunks", generation: this.generation, from, chunks: [], begun: this.started };
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

  private end(ending: NonNullable<ChunkFeed["ending"]>): void {
    if (this.ending) return;
    this.ending = ending;
    this.endedAt = Date.now();
    this.wake();
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const waiter of waiters) waiter();
  }
}
