import { ChunkFeed, type FeedNews } from "../../staging/chunk-feed";

/** The longest a follower's poll is held open before it gets an empty answer and asks again. */
const FEED_POLL_MAX_MS = 10_000;

/**
 * The feeds of a stage agent's attempts (see ChunkFeed), by attempt, for the stage that follows it:
 * transform following extract, load following transform. They live in the agent's memory only.
 */
export class FeedKeeper {
  private readonly feeds = new Map<number, ChunkFeed>();

  of(attempt: number): ChunkFeed {
    let feed = this.feeds.get(attempt);
    if (!feed) this.feeds.set(attempt, (feed = new ChunkFeed(Date.now())));
    return feed;
  }

  /** A follower's long poll (see ChunkFeed.next), held open at most FEED_POLL_MAX_MS. */
  next(attempt: number, generation: number, from: number, waitMs: number): Promise<FeedNews> {
    return this.of(attempt).next(generation, from, Math.min(waitMs, FEED_POLL_MAX_MS));
  }

  /** A follower of some attempt has not heard how it ended: the agent stays for it. */
  awaited(now: number): boolean {
    return [...this.feeds.values()].some((feed) => feed.awaitsFollower(now));
  }

  /** As a reset agent would have it: every feed forgotten (for tests of a follower that lost its feed). */
  clear(): void {
    this.feeds.clear();
  }

  get size(): number {
    return this.feeds.size;
  }
}
