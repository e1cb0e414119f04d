/**
 * The `rel="next"` target of an HTTP Link header (RFC 8288), resolved against the page's URL.
 * `<https://api.example.com/items?page=2>; rel="next", <…>; rel="last"` → the page 2 URL.
 */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*((?:;[^;]*)*)$/.exec(part);
    if (!match) continue;
    const rels = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;"]+))/i.exec(match[2] ?? "");
    const values = (rels?.[1] ?? rels?.[2] ?? "").toLowerCase().split(/\s+/);
    if (values.includes("next")) {
      try {
        return new URL(match[1]!, base).toString();
      } catch {
        return null;
      }
    }
  }
  return null;
}
