/**
 * The seed README's data flow, exactly: four extracted records, rec-2 refused for its value, the other
 * three cleaned and categorised. Plus the record-level refusals the transform stage reports.
 */
import { describe, expect, it } from "vitest";
import { SAMPLE_RECORDS } from "../../../src/pipelines/default/sample";
import { transformRecord } from "../../../src/pipelines/default/readings";

describe("the seed's data flow", () => {
  it("extracts exactly the seed's four records", () => {
    expect(SAMPLE_RECORDS.map((record: any) => [record.id, record.value, record.metadata.type])).toEqual([
      ["rec-1", "100.5", "sensor-a"],
      ["rec-2", "invalid", "sensor-b"],
      ["rec-3", "250.75", "sensor-a"],
      ["rec-4", "99.0", "sensor-c"],
    ]);
    for (const record of SAMPLE_RECORDS) expect(typeof (record as any).timestamp).toBe("string");
  });

  it("cleans rec-1, rec-3 and rec-4 and refuses rec-2", () => {
    const results = SAMPLE_RECORDS.map((record) => transformRecord(record));
    expect(results).toEqual([
      { ok: true, record: { id: "rec-1", timestamp: "2024-01-01T00:00:00.000Z", value: 100.5, category: "medium", type: "sensor-a" } },
      { ok: false, id: "rec-2", reason: 'value "invalid" is not a number' },
      { ok: true, record: { id: "rec-3", timestamp: "2024-01-01T00:02:00.000Z", value: 250.75, category: "high", type: "sensor-a" } },
      { ok: true, record: { id: "rec-4", timestamp: "2024-01-01T00:03:00.000Z", value: 99, category: "low", type: "sensor-c" } },
    ]);
  });
});

describe("transformRecord refuses, with a reason", () => {
  const valid = { id: "r", value: "1", timestamp: "2024-01-01T00:00:00Z" };

  it.each([
    [null, null, "record must be an object, got null"],
    [[1, 2], null, "record must be an object, got array"],
    ["rec", null, "record must be an object, got string"],
    [{ ...valid, id: undefined }, null, "id is missing"],
    [{ ...valid, id: "" }, null, "id is an empty string"],
    [{ ...valid, id: { x: 1 } }, null, "id must be a string, got object"],
    [{ ...valid, id: " r" }, null, 'id " r" has leading or trailing whitespace'],
    [{ ...valid, id: "a\nb" }, null, 'id "a\\nb" contains control characters'],
    [{ ...valid, id: "x".repeat(257) }, null, "id is 257 characters long, the limit is 256"],
    [{ ...valid, value: "12abc" }, "r", 'value "12abc" is not a number'],
    [{ ...valid, timestamp: undefined }, "r", "timestamp is missing"],
    [{ ...valid, timestamp: "yesterday" }, "r", 'timestamp "yesterday" is not an ISO-8601 date'],
    [{ ...valid, timestamp: "2024-13-45" }, "r", 'timestamp "2024-13-45" is not a valid date'],
    [{ ...valid, timestamp: -1 }, "r", "timestamp -1 is not a valid epoch time in milliseconds"],
    [{ ...valid, timestamp: true }, "r", "timestamp must be an ISO-8601 string or epoch milliseconds, got boolean"],
    [{ ...valid, metadata: "sensor" }, "r", "metadata must be an object, got string"],
    [{ ...valid, metadata: { type: 7 } }, "r", "metadata.type must be a string, got number"],
  ])("%j", (raw, id, reason) => {
    expect(transformRecord(raw)).toEqual({ ok: false, id, reason });
  });
});

describe("transformRecord accepts", () => {
  it("ids that look like SQL, unicode ids and numeric ids (as text)", () => {
    for (const id of ["'; DROP TABLE metrics; --", "capteur-é-✓", 42]) {
      const result = transformRecord({ id, value: 1, timestamp: 0 });
      expect(result.ok && result.record.id).toBe(String(id));
    }
  });

  it("epoch milliseconds, offsets and zone-less date-times (read as UTC)", () => {
    const at = (timestamp: unknown) => {
      const result = transformRecord({ id: "r", value: 1, timestamp });
      return result.ok ? result.record.timestamp : result.reason;
    };
    expect(at(1_700_000_000_000)).toBe("2023-11-14T22:13:20.000Z");
    expect(at("2024-06-01T05:00:00+02:00")).toBe("2024-06-01T03:00:00.000Z");
    expect(at("2024-06-01T05:00:00")).toBe("2024-06-01T05:00:00.000Z");
    expect(at("2024-06-01")).toBe("2024-06-01T00:00:00.000Z");
  });

  it("keeps a timestamp already in toISOString's form as it is, and reads every other one as before", () => {
    const at = (timestamp: unknown) => {
      const result = transformRecord({ id: "r", value: 1, timestamp });
      return result.ok ? result.record.timestamp : result.reason;
    };
    // The general reading: Date.parse, then toISOString (what the kept form must always equal).
    const general = (text: string) => {
      const ms = Date.parse(text);
      return Number.isNaN(ms) ? `timestamp "${text}" is not a valid date` : new Date(ms).toISOString();
    };
    const edges = ["2024-02-29T23:59:59.999Z", "2024-02-30T00:00:00.000Z", "2023-02-29T12:00:00.000Z", "2024-04-31T00:00:00.000Z", "2024-12-31T24:00:00.000Z", "2024-01-01T23:60:00.000Z", "2024-01-01T00:00:60.000Z", "2024-13-01T00:00:00.000Z", "2024-01-00T00:00:00.000Z", "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z"];
    for (const text of edges) expect([text, at(text)]).toEqual([text, general(text)]);
    expect(at("2024-02-30T00:00:00.000Z")).toBe("2024-03-01T00:00:00.000Z");
    // Random texts of the form, in and out of range: the same answer either way.
    const digits = (below: number, width: number) => String(Math.floor(Math.random() * below)).padStart(width, "0");
    for (let index = 0; index < 5_000; index += 1) {
      const text = `${digits(10_000, 4)}-${digits(14, 2)}-${digits(33, 2)}T${digits(26, 2)}:${digits(62, 2)}:${digits(62, 2)}.${digits(1_000, 3)}Z`;
      expect([text, at(text)]).toEqual([text, general(text)]);
    }
  });

  it("a record without metadata, with a null type", () => {
    const result = transformRecord({ id: "r", value: "5", timestamp: "2024-01-01T00:00:00Z" });
    expect(result.ok && result.record.type).toBeNull();
  });
});
