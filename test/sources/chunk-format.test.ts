/** The staging chunk format (NDJSON with a marker for unparsable input) keeps every item in its place. */
import { describe, expect, it } from "vitest";
import { decodeNdjson, encodeNdjson, UnparsableItem } from "../../src/staging/ndjson";

describe("the staging chunk format", () => {
  it("round-trips records and unparsable items in order", () => {
    const text = encodeNdjson([{ id: "a" }, new UnparsableItem("{broken", "not JSON"), "!looks like a marker", null]);
    expect(text.split("\n")[1]).toBe('!["{broken","not JSON"]');
    const back = decodeNdjson(text);
    expect(back[0]).toEqual({ id: "a" });
    expect(back[1]).toBeInstanceOf(UnparsableItem);
    expect(back[1]).toMatchObject({ raw: "{broken", reason: "not JSON" });
    expect(back.slice(2)).toEqual(["!looks like a marker", null]);
  });
});
