import { describe, expect, it } from "vitest";
import { configuredTokens } from "../../src/http/auth";

describe("configuredTokens", () => {
  it("reads API_TOKEN without a label and API_TOKENS with theirs; an empty label is none", () => {
    expect(configuredTokens({ API_TOKEN: "t0", API_TOKENS: JSON.stringify({ alice: "t1", "": "t2" }) })).toEqual([
      { label: null, secret: "t0" },
      { label: "alice", secret: "t1" },
      { label: null, secret: "t2" },
    ]);
  });

  it("leaves a malformed API_TOKENS out, never opening the API", () => {
    expect(configuredTokens({ API_TOKEN: "t0", API_TOKENS: "alice=t1" })).toEqual([{ label: null, secret: "t0" }]);
    const closed = configuredTokens({ API_TOKENS: '["t1"]' });
    // Nothing usable: one random secret no request can know, so every request is refused.
    expect(closed).toHaveLength(1);
    expect(closed[0]!.secret).toMatch(/^[0-9a-f-]{72}$/);
    expect(configuredTokens({ API_TOKENS: JSON.stringify({ bob: "" }) })[0]!.secret).toMatch(/^[0-9a-f-]{72}$/);
  });
});
