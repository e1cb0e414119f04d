import WebSocket from "ws";
import type { DevServer } from "./wrangler-dev.ts";

/**
 * What the Worker's JavaScript holds, sampled through workerd's inspector: a full garbage collection,
 * then the isolate's used heap. Live memory, not what the allocator has not handed back yet (RSS), so a
 * stage's figure is what it keeps while it works. Only for the memory scenario: the collections cost time.
 * workerd runs an inspector command that needs the isolate only when the isolate wakes, so each sample
 * also sends the Worker health requests until it has answered.
 */
export interface HeapSample {
  at: number;
  usedBytes: number;
}

export async function sampleHeap(server: DevServer, everyMs: number): Promise<{ samples: HeapSample[]; stop(): Promise<void> }> {
  const args = server.child.spawnargs;
  const port = args[args.indexOf("--inspector-port") + 1];
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", (error) => reject(error));
  });
  let id = 0;
  const waiting = new Map<number, (result: any) => void>();
  socket.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
    if (message.id !== undefined) waiting.delete(message.id);
  });
  const send = (method: string) =>
    new Promise<any>((resolve) => {
      const next = ++id;
      waiting.set(next, resolve);
      socket.send(JSON.stringify({ id: next, method }));
    });
  const samples: HeapSample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      let done = false;
      const collected = send("HeapProfiler.collectGarbage").then(() => (done = true));
      while (!done) {
        await fetch(`${server.url}/api/health`).then((response) => response.arrayBuffer(), () => undefined);
        await Promise.race([collected, new Promise((resolve) => setTimeout(resolve, 20))]);
      }
      const usage = await send("Runtime.getHeapUsage");
      samples.push({ at: Date.now(), usedBytes: usage.usedSize });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
      socket.close();
    },
  };
}
