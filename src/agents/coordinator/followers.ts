import type { StageName } from "../../domain/stages";
import type { FollowingStage } from "./stage-dispatch";

/**
 * A run's stage attempts started ahead of their turn (transform beside extract, load beside transform),
 * at most one a stage: taken up when the stage's turn comes, stopped (and waited for) whenever the run
 * goes any other way.
 */
export class Followers {
  private readonly ahead = new Map<StageName, FollowingStage>();

  add(following: FollowingStage): void {
    this.ahead.set(following.stage, following);
  }

  has(stage: StageName): boolean {
    return this.ahead.has(stage);
  }

  /** The stage's follower, no longer kept here (the caller takes it up or stops it). */
  take(stage: StageName): FollowingStage | null {
    const following = this.ahead.get(stage) ?? null;
    this.ahead.delete(stage);
    return following;
  }

  async stopAll(reason: string): Promise<void> {
    const all = [...this.ahead.values()];
    this.ahead.clear();
    await Promise.all(all.map((following) => following.stop(reason)));
  }
}
