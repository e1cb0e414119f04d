/**
 * `{{NAME}}` placeholders in a source's URL and headers, filled at request time from the secrets the
 * source declares, so secret values are never stored with a run and never shown.
 */
export const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

export function placeholderNames(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((match) => match[1]!);
}

/** Fills placeholders; `encode` is applied to each value (URL components are percent-encoded). */
export function fillPlaceholders(template: string, values: Readonly<Record<string, string>>, encode: (value: string) => string = (value) => value): string {
  return template.replace(PLACEHOLDER, (_, name: string) => encode(values[name] ?? ""));
}
