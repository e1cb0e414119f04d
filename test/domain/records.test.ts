/** Text as it is stored: a lone surrogate would come back from D1 as U+FFFD, so it is written as its escape. */
import { describe, expect, it } from "vitest";
import { storableText } from "../../src/domain/records";

describe("storableText", () => {
  it("leaves well-formed text alone, surrogate pairs included", () => {
    expect(storableText("plain 😀 \u0000 text")).toBe("plain 😀 \u0000 text");
    expect(storableText(null)).toBeNull();
  });

  it("writes each lone surrogate as its escape, leading or trailing, at either end", () => {
    expect(storableText("dup-\ud800")).toBe("dup-\\ud800");
    expect(storableText("\udc00x\ud83d\ude00\ud83d")).toBe("\\udc00x😀\\ud83d");
    expect(storableText("dup-\ud800").isWellFormed()).toBe(true);
  });
});
