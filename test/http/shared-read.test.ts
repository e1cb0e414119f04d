import { describe, expect, it } from "vitest";
import { SharedRead } from "../../src/http/shared-read";

/** A read whose executions we finish by hand; each answers with the state it saw when it started. */
function manualRead() {
  const pending: { resolve: () => void; reject: (error: Error) => void }[] = [];
  let state = 0;
  const read = new SharedRead(
    () =>
      new Promise<number>((resolve, reject) => {
        const seen = state;
        pending.push({ resolve: () => resolve(seen), reject });
      }),
  );
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  return {
    read,
    pending,
    settle,
    setState: (value: number) => (state = value),
    finish: async (index: number) => {
      pending[index]!.resolve();
      await settle();
    },
  };
}

describe("SharedRead", () => {
  it("runs once for requests that arrive together, and never answers with a read older than the request", async () => {
    const reads = manualRead();
    const first = reads.read.get();
    reads.setState(1); // changes after the first read started: later requests must see it
    const second = reads.read.get();
    const third = reads.read.get();
    expect(reads.pending).toHaveLength(1);
    await reads.finish(0);
    expect(await first).toBe(0);
    expect(reads.pending).toHaveLength(2); // one read for both waiting requests, started after the first ended
    const fourth = reads.read.get(); // arrives while that read runs: waits for the next one
    reads.setState(2);
    await reads.finish(1);
    expect([await second, await third]).toEqual([1, 1]);
    expect(reads.pending).toHaveLength(3);
    await reads.finish(2);
    expect(await fourth).toBe(2);
  });

  it("starts afresh once idle, and when a shared read fails each waiting request reads for itself", async () => {
    const reads = manualRead();
    const failing = reads.read.get();
    const waiting = [reads.read.get(), reads.read.get()];
    await reads.finish(0);
    expect(await failing).toBe(0);
    reads.pending[1]!.reject(new Error("down"));
    await reads.settle();
    expect(reads.pending).toHaveLength(4); // one read of its own for each
    await reads.finish(2);
    await reads.finish(3);
    expect(await Promise.all(waiting)).toEqual([0, 0]);
    const later = reads.read.get();
    await reads.finish(4);
    expect(await later).toBe(0);
  });
});

describe("SharedRead when a read never settles", () => {
  it("lets waiting requests read for themselves after waitMs, and forgets the stuck read", async () => {
    let calls = 0;
    const read = new SharedRead(() => {
      calls += 1;
      return calls === 1 ? new Promise<number>(() => undefined) : Promise.resolve(calls);
    }, 20);
    void read.get(); // its request went away: this read never settles
    const waiting = read.get();
    expect(await waiting).toBe(2);
    expect(await read.get()).toBe(3); // a fresh read, not the stuck one
  });
});
