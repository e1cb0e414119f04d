import { openInspector } from "./inspector.ts";
import type { DevServer } from "./wrangler-dev.ts";

/**
 * What the Worker's JavaScript holds, sampled through workerd's inspector: a full garbage collection,
 * then the isolate's used heap. Live memory, not what the allocator has not handed back yet (RSS), so a
 * stage's figure is what it keeps while it works. Only for the memory scenario: the collections cost time.
 */
export interface HeapSample {
  at: number;
  usedBytes: number;
}

export async function sampleHeap(server: DevServer, everyMs: number): Promise<{ samples: HeapSample[]; stop(): Promise<void> }> {
  const inspector = await openInspector(server);
  const samples: HeapSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      await inspector.send("HeapProfiler.collectGarbage");
      const usage = await inspector.send("Runtime.getHeapUsage");
      samples.push({ at: Date.now(), usedBytes: usage.usedSize });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      inspector.close();
    },
  };
}
