/**
 * Hive-style partition folders, as Spark, Hive, Trino and DuckDB write and read them: `name=value`, the
 * value with every byte outside [A-Za-z0-9._-] escaped as %XX (so "/" and "=" cannot split it), and
 * null as Hive's `__HIVE_DEFAULT_PARTITION__`.
 */
export const NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__";

export function partitionFolder(name: string, value: unknown): string {
  if (value === null || value === undefined) return `${name}=${NULL_PARTITION}`;
  const text = typeof value === "string" ? value : String(value);
  // The text that spells null is escaped, so it can never share null's folder.
  if (text === NULL_PARTITION) return `${name}=%5F${NULL_PARTITION.slice(1)}`;
  let escaped = "";
  for (const byte of new TextEncoder().encode(text)) {
    const char = String.fromCharCode(byte);
    escaped += /[A-Za-z0-9._-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return `${name}=${escaped}`;
}
