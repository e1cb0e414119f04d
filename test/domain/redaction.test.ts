/** Secrets never leave: URLs are shown with credential-like query values, passwords and secret values as ***. */
import { describe, expect, it } from "vitest";
import { isCredentialName, MAX_URL_CHARS, redactText, redactUrl, showUrl } from "../../src/domain/redaction";

describe("redactUrl", () => {
  it.each([
    ["https://api.example.com/x?api_key=abc123&page=2", "https://api.example.com/x?api_key=***&page=2"],
    ["https://api.example.com/x?token=abc&access_token=def&sig=ghi&X-Amz-Signature=jkl", "https://api.example.com/x?token=***&access_token=***&sig=***&X-Amz-Signature=***"],
    ["https://api.example.com/x?password=p&clientSecret=s&auth=a&apiKey=k", "https://api.example.com/x?password=***&clientSecret=***&auth=***&apiKey=***"],
    ["https://bob:hunter2@api.example.com/x", "https://***@api.example.com/x"],
    ["https://api.example.com/readings?since=2024-01-01T00%3A00%3A00Z&cursor=abc", "https://api.example.com/readings?since=2024-01-01T00%3A00%3A00Z&cursor=abc"],
    ["https://api.example.com/x?author=ann&design=1&country_code=DE", "https://api.example.com/x?author=ann&design=1&country_code=DE"],
  ])("%s → %s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it("hides known secret values anywhere in the URL, plain or percent-encoded", () => {
    expect(redactUrl("https://api.example.com/accounts/s3cr3t-acct/x?q=a%2Fb%2Bc", ["s3cr3t-acct", "a/b+c"])).toBe("https://api.example.com/accounts/***/x?q=***");
  });

  it.each([
    ["ab'cd-secret", "https://api.example.com/acct?account=ab%27cd-secret"],
    ["my~secret!(x)", "https://api.example.com/acct?account=my%7Esecret%21%28x%29&cursor=2"],
    ["sp ace+plus", "https://api.example.com/acct?account=sp+ace%2Bplus"],
    ["my~secret!(x)", "https://api.example.com/my~secret!(x)/items"],
  ])("finds the secret %j however the URL encodes it", (secret, url) => {
    const shown = redactUrl(url, [secret]);
    expect(shown).toContain("***");
    expect(decodeURIComponent(shown.replaceAll("+", " "))).not.toContain(secret);
  });

  it("hides a short secret when it is a whole component, without garbling the rest", () => {
    expect(redactUrl("https://api.example.com/a/items?account=42&page=42b", ["42"])).toBe("https://api.example.com/a/items?account=***&page=42b");
  });

  it("hides credentials in the fragment too", () => {
    expect(redactUrl("https://app.example.com/cb#access_token=abc&state=xyz")).toBe("https://app.example.com/cb#access_token=***&state=***");
  });

  it("leaves a URL with nothing to hide exactly as it was", () => {
    for (const url of ["https://x.example", "https://x.example/a%7eb?q=a+b&r=%41", "HTTPS://X.EXAMPLE:8443/a/../b"]) expect(redactUrl(url)).toBe(url);
  });

  it(`cuts a URL it shows in a message to ${MAX_URL_CHARS} characters`, () => {
    const shown = showUrl(`https://api.example.com/${"a".repeat(2_000)}`);
    expect(shown).toHaveLength(MAX_URL_CHARS);
    expect(shown.endsWith("…")).toBe(true);
  });
});

describe("redactText", () => {
  it("redacts every URL in a message and keeps the punctuation around it", () => {
    expect(redactText("the source https://a.example/x?token=abc. answered HTTP 500 (see https://b.example/y?key=k)")).toBe(
      "the source https://a.example/x?token=***. answered HTTP 500 (see https://b.example/y?key=***)",
    );
  });

  it("redacts secret values that appear outside URLs, in any encoding, and leaves text alone for values too short to search for", () => {
    expect(redactText("failed with Bearer tok-123456 on tok", ["tok-123456", "tok"])).toBe("failed with Bearer *** on tok");
    expect(redactText("sent ab%27cd-secret and ab'cd-secret", ["ab'cd-secret"])).toBe("sent *** and ***");
  });

  it("does not rewrite a URL it has nothing to hide in (no trailing slash added, no backslash turned round)", () => {
    expect(redactText('the CSV header names the column "https://x.example" twice')).toBe('the CSV header names the column "https://x.example" twice');
    expect(redactText("see https://x.example\\path")).toBe("see https://x.example\\path");
  });
});

describe("isCredentialName", () => {
  it.each(["key", "api_key", "apiKey", "X-Api-Key", "token", "refresh_token", "secret", "client_secret", "password", "passwd", "pwd", "signature", "sig", "auth", "Authorization", "credential", "X-Amz-Credential", "session_id", "jwt", "jsessionid", "PHPSESSID", "sid", "accesskey", "AWSAccessKeyId", "code"])(
    "%s is a credential",
    (name) => {
      expect(isCredentialName(name)).toBe(true);
    },
  );
  it.each(["page", "cursor", "since", "author", "design", "limit", "country_code", "format"])("%s is not", (name) => {
    expect(isCredentialName(name)).toBe(false);
  });
});
