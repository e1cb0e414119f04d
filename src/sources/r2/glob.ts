/**
 * Object-key globs, as file sources in dlt or Airbyte take them: `*` is any run of characters but `/`,
 * `**` any run including `/` (`**\/` also matches no folder at all), `?` one character but `/`, `{a,b}` either
 * word; everything else is itself. Matched against the key after the source's prefix.
 */
export function globProblem(glob: string): string | null {
  let depth = 0;
  for (const char of glob) {
    if (char === "{") depth += 1;
    if (char === "}") depth -= 1;
    if (depth < 0 || depth > 1) return "has braces that do not pair (one level of {a,b} at most)";
  }
  return depth === 0 ? null : "has braces that do not pair (one level of {a,b} at most)";
}

export function globRegExp(glob: string): RegExp {
  let pattern = "";
  let inBraces = false;
  for (let index = 0; index < glob.length; index += 1) {
    const char = glob[index]!;
    if (char === "*" && glob[index + 1] === "*") {
      const slash = glob[index + 2] === "/";
      pattern += slash ? "(?:.*/)?" : ".*";
      index += slash ? 2 : 1;
    } else if (char === "*") pattern += "[^/]*";
    else if (char === "?") pattern += "[^/]";
    else if (char === "{") {
      pattern += "(?:";
      inBraces = true;
    } else if (char === "}" && inBraces) {
      pattern += ")";
      inBraces = false;
    } else if (char === "," && inBraces) pattern += "|";
    else pattern += char.replace(/[.+^${}()|[\]\\/]/g, "\\$&");
  }
  return new RegExp(`^${pattern}$`, "s");
}
