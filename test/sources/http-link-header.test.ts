/** The `rel="next"` target of an HTTP Link header (RFC 8288), resolved against the page's URL. */
import { describe, expect, it } from "vitest";
import { nextLink } from "../../src/sources/http/link-header";

describe("Link header", () => {
  it.each([
    ['<https://api.example.com/items?page=2>; rel="next", <https://api.example.com/items?page=9>; rel="last"', "https://api.example.com/items?page=2"],
    ['<https://a.example/last>; rel="last", </items?page=3>; rel=next', "https://api.example.com/items?page=3"],
    ['<https://a.example/x>; rel="prev next"', "https://a.example/x"],
    ['<https://a.example/x>; rel="prev"', null],
    ["", null],
    [null, null],
  ])("%j → %j", (header, next) => {
    expect(nextLink(header, "https://api.example.com/items?page=1")).toBe(next);
  });
});
