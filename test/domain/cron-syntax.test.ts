/**
 * Cron expressions are checked by our own rules first, so every mistake gets one message that names the
 * field and what is wrong in it; what the check lets through, croner reads (checked on random expressions).
 */
import { Cron } from "croner";
import { describe, expect, it } from "vitest";
import { cronProblem } from "../../src/domain/cron-syntax";
import { random } from "../sources/support";

describe("cronProblem", () => {
  it.each(["0 3 * * *", "*/15 * * * 1-5", "0 0 1,15 * *", "30 2 * JAN-MAR MON-FRI", "0 12 L * *", "0 9 15W * *", "0 9 * * FRI#L", "0 9 * * 5#2", "0 12 1 * +MON", "0 0 ? * ?", "@daily", "@HOURLY", "0 0 * * 7", "5-10/2 * * * *"])("accepts %j", (expression) => {
    expect(cronProblem(expression)).toBeNull();
    expect(() => new Cron(expression, { mode: "5-part" })).not.toThrow();
  });

  it.each([
    ["0 3 * *", 'cron "0 3 * *" has 4 fields; a cron expression has 5: minute hour day-of-month month day-of-week (for example "0 3 * * *")'],
    ["0 0 3 * * *", 'cron "0 0 3 * * *" has 6 fields; a cron expression has 5: minute hour day-of-month month day-of-week (for example "0 3 * * *")'],
    ["", 'cron is empty; a cron expression has 5 fields: minute hour day-of-month month day-of-week (for example "0 3 * * *")'],
    ["0 25 * * *", 'cron "0 25 * * *": the hour field 25 is out of range 0-23'],
    ["0 3 0 * *", 'cron "0 3 0 * *": the day-of-month field 0 is out of range 1-31'],
    ["0 3 * 13 *", 'cron "0 3 * 13 *": the month field 13 is out of range 1-12'],
    ["0 3 * * MOO", 'cron "0 3 * * MOO": the day-of-week field "MOO" is not a number, or a name (SUN-SAT)'],
    ["x 3 * * *", 'cron "x 3 * * *": the minute field "X" is not a number'],
    ["*/0 * * * *", 'cron "*/0 * * * *": the minute field "*/0": the step 0 is out of range 1-60'],
    ["0 5-2 * * *", 'cron "0 5-2 * * *": the hour field range "5-2" runs backwards'],
    ["0 3,,4 * * *", 'cron "0 3,,4 * * *": the hour field "3,,4" has an empty item (a comma too many?)'],
    ["@reboot", 'cron "@reboot" is not a schedule this service knows (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, or 5 fields: minute hour day-of-month month day-of-week)'],
  ])("refuses %j naming the field", (expression, message) => {
    expect(cronProblem(expression)).toBe(message);
  });

  it("refuses exactly what croner refuses, on 40,000 random expressions", () => {
    const next = random(15);
    const pieces = ["*", "?", "0", "1", "5", "7", "12", "23", "31", "59", "60", "1-5", "5-1", "*/15", "*/0", "*/60", "2/3", "1,3", "L", "5W", "LW", "LW,5", "5#2", "FRI#L", "5L", "JAN", "MON", "MON-FRI", "+MON", "#", "-", ",", "x", "1-5/2", "JAN-DEC/3", "7-1"];
    let accepted = 0;
    for (let round = 0; round < 40_000; round += 1) {
      const expression = Array.from({ length: 5 }, () => pieces[Math.floor(next() * pieces.length)]).join(" ");
      let croner = true;
      try {
        new Cron(expression, { mode: "5-part" });
      } catch {
        croner = false;
      }
      expect(cronProblem(expression) === null, expression).toBe(croner);
      if (croner) accepted += 1;
    }
    expect(accepted).toBeGreaterThan(100);
  });
});
