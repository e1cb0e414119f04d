import pg from "pg";
import { parse as parseArray } from "postgres-array";

/**
 * How PostgreSQL's values arrive in a record: as JSON can carry them without losing anything. A record is
 * staged as JSON, so a value JSON cannot hold exactly is given as PostgreSQL's own text for it instead of
 * being rounded or turned into null on the way:
 *
 * - bigint: a number when it is a safe integer, else its digits as text (9223372036854775807);
 * - numeric: its digits as text (exact; a transform parses it as it needs);
 * - real and double precision: a number, or "NaN", "Infinity", "-Infinity" as text;
 * - timestamptz: ISO 8601 in UTC with every fractional digit ("2026-11-30T09:15:00.123456Z");
 * - timestamp (without zone): ISO 8601 without a zone, as stored; date, time, interval: their text;
 * - bytea: its hex text ("\\x0001ff"); json and jsonb: the parsed value (a number in JSON beyond a double's
 *   precision is rounded, as JSON.parse does); the rest as node-postgres gives them;
 * - an array of any of these: an array of the same, element by element.
 */

const OID = { bytea: 17, int8: 20, float4: 700, float8: 701, date: 1082, timestamp: 1114, timestamptz: 1184, interval: 1186, numeric: 1700 } as const;

const asText = (text: string) => text;

function bigint(text: string): number | string {
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : text;
}

function float(text: string): number | string {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

const STAMP = /^(\d{4,}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?(?:([+-]\d{2})(?::?(\d{2}))?(?::?(\d{2}))?)?( BC)?$/;

/** "2026-11-30 10:15:00.123456+01" as "2026-11-30T09:15:00.123456Z"; infinity and BC dates as they are. */
export function timestamptzText(text: string): string {
  const match = STAMP.exec(text);
  if (!match || match[7] || match[4] === undefined) return text;
  const [, day, time, fraction = "", hours, minutes = "00", seconds = "00"] = match;
  const sign = hours!.startsWith("-") ? -1 : 1;
  const offsetSeconds = sign * (Math.abs(Number(hours)) * 3600 + Number(minutes) * 60 + Number(seconds));
  const utc = Date.parse(`${day}T${time}Z`) - offsetSeconds * 1000;
  if (!Number.isFinite(utc)) return text;
  const iso = new Date(utc).toISOString(); // ….sssZ: the whole seconds are exact, the fraction comes from the server
  return `${iso.slice(0, 19)}${fraction}Z`;
}

function timestampText(text: string): string {
  const match = STAMP.exec(text);
  return match && !match[7] && match[4] === undefined ? `${match[1]}T${match[2]}${match[3] ?? ""}` : text;
}

const PARSERS: Partial<Record<number, (text: string) => unknown>> = {
  [OID.int8]: bigint,
  [OID.numeric]: asText,
  [OID.float4]: float,
  [OID.float8]: float,
  [OID.timestamptz]: timestamptzText,
  [OID.timestamp]: timestampText,
  [OID.interval]: asText,
  [OID.date]: asText,
  [OID.bytea]: asText,
};

/** The array types of the types above, by their element's type. */
const ARRAY_OF: Record<number, number> = { 1001: OID.bytea, 1016: OID.int8, 1021: OID.float4, 1022: OID.float8, 1182: OID.date, 1115: OID.timestamp, 1185: OID.timestamptz, 1187: OID.interval, 1231: OID.numeric };
for (const [array, element] of Object.entries(ARRAY_OF)) {
  const parseElement = PARSERS[element]!;
  PARSERS[Number(array)] = (text: string) => parseArray(text, parseElement);
}

/** node-postgres's `types` option: these parsers for text results, its own for the rest. */
export const RESULT_TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (format !== "binary" && PARSERS[oid]) return PARSERS[oid]!;
    return pg.types.getTypeParser(oid, format as "text");
  },
};
