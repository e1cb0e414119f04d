import { rawForStorage } from "../../domain/records";
import type { StagedData } from "../../domain/staged-data";
import { UnparsableItem } from "../../staging/ndjson";
import { readStagedChunk } from "../../staging/staging-store";

/** Finds a record's raw form in extract's staged chunks by its position (rarely needed: duplicates only). */
export class RawLookup {
  private cached: { index: number; records: unknown[] } | null = null;
  private readonly starts: number[] = [];

  constructor(
    private readonly bucket: R2Bucket,
    private readonly staged: StagedData,
  ) {
    let start = 0;
    for (const count of staged.counts) {
      this.starts.push(start);
      start += count;
    }
  }

  async at(position: number): Promise<string> {
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = Math.ceil((low + high) / 2);
      if (this.starts[middle]! <= position) low = middle;
      else high = middle - 1;
    }
    if (this.starts.length === 0) return "null";
    if (this.cached?.index !== low) this.cached = { index: low, records: await readStagedChunk(this.bucket, this.staged, low) };
    const item = this.cached.records[position - this.starts[low]!];
    return item instanceof UnparsableItem ? item.raw : rawForStorage(item);
  }
}
