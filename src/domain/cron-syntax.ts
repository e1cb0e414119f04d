/**
 * A cron expression checked field by field before croner reads it, so a mistake gets one message of ours
 * that names the field and the part that is wrong ("the hour field's 25 is out of range 0-23"), whichever
 * way it was set (a pipeline file, a Worker variable, the API). The syntax is croner's in its 5-field mode:
 * lists, ranges, steps, names (JAN, MON), `?`, and the calendar modifiers `L`, `W`, `#` and `+`.
 */

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Which of croner's modifiers the field takes. */
  modifiers?: "day-of-month" | "day-of-week";
}

const FIELDS: readonly FieldRule[] = [
  { name: "minute", min: 0, max: 59 },
  { name: "hour", min: 0, max: 23 },
  { name: "day-of-month", min: 1, max: 31, modifiers: "day-of-month" },
  { name: "month", min: 1, max: 12, names: ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"] },
  { name: "day-of-week", min: 0, max: 7, names: ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], modifiers: "day-of-week" },
];

const NICKNAMES = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"];
const SHAPE = "minute hour day-of-month month day-of-week";

/** What is wrong with `expression` as a 5-field cron expression, or null. */
export function cronProblem(expression: string): string | null {
  const text = expression.trim();
  if (text === "") return `cron is empty; a cron expression has 5 fields: ${SHAPE} (for example "0 3 * * *")`;
  if (text.startsWith("@")) {
    return NICKNAMES.includes(text.toLowerCase()) ? null : `cron ${JSON.stringify(expression)} is not a schedule this service knows (${NICKNAMES.join(", ")}, or 5 fields: ${SHAPE})`;
  }
  const parts = text.split(/\s+/);
  if (parts.length !== FIELDS.length) {
    return `cron ${JSON.stringify(expression)} has ${parts.length} field${parts.length === 1 ? "" : "s"}; a cron expression has 5: ${SHAPE} (for example "0 3 * * *")`;
  }
  for (const [index, part] of parts.entries()) {
    const problem = fieldProblem(part, FIELDS[index]!);
    if (problem) return `cron ${JSON.stringify(expression)}: the ${FIELDS[index]!.name} field ${problem}`;
  }
  return null;
}

function fieldProblem(field: string, rule: FieldRule): string | null {
  let body = field;
  if (rule.modifiers === "day-of-week" && body.startsWith("+")) body = body.slice(1);
  const items = body.split(",");
  if (items.length > 1 && rule.modifiers === "day-of-month" && items.some((item) => /[LW]/i.test(item))) return `${JSON.stringify(field)}: L and W stand alone, not in a list`;
  for (const item of items) {
    if (item === "") return `${JSON.stringify(field)} has an empty item (a comma too many?)`;
    const problem = itemProblem(item.toUpperCase(), rule);
    if (problem) return problem;
  }
  return null;
}

function itemProblem(item: string, rule: FieldRule): string | null {
  if (item === "*" || item === "?") return null;
  if (rule.modifiers === "day-of-month" && (item === "L" || item === "LW")) return null;
  if (rule.modifiers === "day-of-month" && /^\d+W$/.test(item)) return valueProblem(item.slice(0, -1), rule);
  if (rule.modifiers === "day-of-week") {
    const nth = /^([A-Z0-9]+(?:-[A-Z0-9]+)?)#([1-5]|L)$/.exec(item);
    if (nth) return rangeProblem(nth[1]!, rule);
    if (item.endsWith("L") && item.length > 1) return rangeProblem(item.slice(0, -1), rule);
  }
  const [range, step, extra] = item.split("/");
  if (extra !== undefined) return `${JSON.stringify(item)} has two steps`;
  if (step !== undefined && !/^\d+$/.test(step)) return `${JSON.stringify(item)}: a step is a whole number (*/15), got ${JSON.stringify(step)}`;
  const longest = rule.max - rule.min + 1;
  if (step !== undefined && (Number(step) < 1 || Number(step) > longest)) return `${JSON.stringify(item)}: the step ${step} is out of range 1-${longest}`;
  if (range === "*" || range === "?") return null;
  if (step !== undefined && !range!.includes("-")) return `${JSON.stringify(item)}: a step follows * or a range (*/15, 0-30/5), not one value`;
  return rangeProblem(range!, rule);
}

function rangeProblem(range: string, rule: FieldRule): string | null {
  const [from, to, extra] = range.split("-");
  if (extra !== undefined || from === "" || to === "") return `${JSON.stringify(range)} is not a number, a range (1-5), a step (*/15) or a list of them`;
  const problem = valueProblem(from!, rule);
  if (problem || to === undefined) return problem;
  return valueProblem(to, rule) ?? (valueOf(from!, rule) > valueOf(to, rule) ? `range ${JSON.stringify(range)} runs backwards` : null);
}

function valueProblem(text: string, rule: FieldRule): string | null {
  if (rule.names?.includes(text)) return null;
  if (!/^\d+$/.test(text)) {
    const names = rule.names ? `, or a name (${rule.names[0]}-${rule.names.at(-1)})` : "";
    return `${JSON.stringify(text)} is not a number${names}`;
  }
  const value = Number(text);
  return value < rule.min || value > rule.max ? `${value} is out of range ${rule.min}-${rule.max}` : null;
}

function valueOf(text: string, rule: FieldRule): number {
  const named = rule.names?.indexOf(text) ?? -1;
  return named >= 0 ? named + (rule.min === 1 ? 1 : 0) : Number(text);
}
