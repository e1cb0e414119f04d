import WebSocket from "ws";
import type { DevServer } from "./wrangler-dev.ts";

/** A DevTools protocol session with the Worker's isolate, through the inspector port `wrangler dev` was started with. */
export interface InspectorSession {
  /**
   * Sends a command and answers its result. workerd runs a command that needs the isolate only when the
   * isolate wakes, so the Worker is sent health requests until the answer has come.
   */
  send(method: string, params?: unknown): Promise<any>;
  close(): void;
}

export async function openInspector(server: DevServer): Promise<InspectorSession> {
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
    if (message.id === undefined) return;
    waiting.get(message.id)?.(message.result);
    waiting.delete(message.id);
  });
  return {
    async send(method, params = {}) {
      const next = ++id;
      let done = false;
      const answered = new Promise<any>((resolve) => waiting.set(next, resolve)).then((result) => {
        done = true;
        return result;
      });
      socket.send(JSON.stringify({ id: next, method, params }));
      while (!done) {
        await fetch(`${server.url}/api/health`).then((response) => response.arrayBuffer(), () => undefined);
        await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 20))]);
      }
      return answered;
    },
    close: () => socket.close(),
  };
}
