import Papa from "papaparse";
import { rawForStorage } from "../../domain/records";
import { PayloadError, sniff, type SourceItem } from "../source-items";

/**
 * Streams CSV with a header row through papaparse: each row becomes an object keyed by the header, values
 * as text. A row papaparse flags (too few or too many fields, a broken quote) is one bad record with
 * papaparse's own message; `requiredColumns` missing from the header fail the payload.
 */
export async function* csvRecords(body: ReadableStream<Uint8Array>, delimiter: string, requiredColumns: string[]): AsyncGenerator<SourceItem[]> {
  const { first, stream } = await sniff(body);
  if (first === "<") throw new PayloadError("the source answered with HTML or XML, not CSV");
  if (first === null) throw new PayloadError("the source answered with an empty body (a CSV needs at least a header row)");

  const input = new NodeStyleReadable(stream.pipeThrough(new TextDecoderStream()));
  const queue: SourceItem[][] = [];
  let finished = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  let parser: Papa.Parser | null = null;
  let headerChecked = false;
  /** papaparse numbers rows across the whole file, errors included; chunks start where the last one ended. */
  let rowsBefore = 0;
  const notify = () => {
    wake?.();
    wake = null;
  };

  Papa.parse<Record<string, unknown>>(input as unknown as File, {
    header: true,
    delimiter,
    skipEmptyLines: "greedy",
    chunk(results, handle) {
      parser = handle;
      try {
        const columns = results.meta.fields ?? [];
        // The header is known once its line is complete; a first chunk may end before that.
        if (!headerChecked && columns.length > 0) {
          headerChecked = true;
          const missing = requiredColumns.filter((column) => !columns.includes(column));
          if (missing.length > 0) {
            throw new PayloadError(`the CSV header has no column ${missing.map((column) => JSON.stringify(column)).join(", ")} (columns: ${columns.join(", ")})`);
          }
        }
        const problems = new Map<number, string>();
        for (const error of results.errors) {
          const local = typeof error.row === "number" ? error.row - rowsBefore : -1;
          if (local >= 0 && !problems.has(local)) problems.set(local, error.message);
        }
        rowsBefore += results.data.length;
        queue.push(
          results.data.map((row, index): SourceItem => {
            const problem = problems.get(index);
            if (problem === undefined) return { ok: true, record: row };
            return { ok: false, raw: rawForStorage(row), reason: `CSV row: ${problem}` };
          }),
        );
      } catch (error) {
        failure = error;
        handle.abort();
      }
      handle.pause();
      notify();
    },
    complete() {
      if (!headerChecked && failure === null) failure = new PayloadError("the CSV has no header row");
      finished = true;
      notify();
    },
    error(error) {
      failure = error;
      finished = true;
      notify();
    },
  });

  while (true) {
    if (queue.length > 0) {
      yield queue.shift()!;
      continue;
    }
    if (failure) throw failure instanceof PayloadError ? failure : new PayloadError(`the CSV could not be read: ${String(failure)}`);
    if (finished) return;
    const waiting = new Promise<void>((resolve) => {
      wake = resolve;
    });
    (parser as Papa.Parser | null)?.resume();
    await waiting;
  }
}

/**
 * papaparse streams from Node-style readables (`on('data')`, `pause()`, `resume()`); this presents a Web
 * ReadableStream of text that way, so the parser's own pause/resume gives backpressure.
 */
class NodeStyleReadable {
  readonly readable = true;
  private readonly listeners = new Map<string, ((value?: unknown) => void)[]>();
  private paused = false;
  private started = false;
  private resumeWaiter: (() => void) | null = null;

  constructor(private readonly stream: ReadableStream<string>) {}

  read(): null {
    return null;
  }

  on(event: string, listener: (value?: unknown) => void): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    if (!this.started) {
      this.started = true;
      queueMicrotask(() => void this.pump());
    }
    return this;
  }

  removeListener(event: string, listener: (value?: unknown) => void): this {
    this.listeners.set(event, (this.listeners.get(event) ?? []).filter((candidate) => candidate !== listener));
    return this;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.resumeWaiter?.();
    this.resumeWaiter = null;
  }

  private emit(event: string, value?: unknown): void {
    for (const listener of this.listeners.get(event) ?? []) listener(value);
  }

  private async pump(): Promise<void> {
    const reader = this.stream.getReader();
    try {
      for (;;) {
        while (this.paused) await new Promise<void>((resolve) => (this.resumeWaiter = resolve));
        const { done, value } = await reader.read();
        if (done) break;
        this.emit("data", value);
      }
      this.emit("end");
    } catch (error) {
      this.emit("error", error);
    }
  }
}
