import { checkSourceUrl, HttpOptionsSchema, httpSettings, type HttpOptionsInput, type HttpSource } from "./config";

/**
 * `vars.sourceUrl`: a Worker variable holding an http(s) URL, which (when set) replaces the pipeline's
 * declared sources, so a deployment can point a pipeline elsewhere without a code change. Its options
 * (format, pagination…) are declared beside the variable's name in the pipeline file.
 */
export type UrlVariable = string | ({ name: string } & HttpOptionsInput);

export function sourceFromUrlVariable(
  declared: UrlVariable,
  url: string,
  context: { pipeline: string; configName: string; configHasSources: boolean; defaultTimeoutMs: number },
): { ok: true; source: HttpSource } | { ok: false; errors: string[] } {
  const variable = typeof declared === "string" ? declared : declared.name;
  if (context.configHasSources) return { ok: false, errors: [`set either ${variable} or ${context.configName}.sources, not both`] };
  if (!/^https?:\/\/[^\s]+$/i.test(url) || !URL.canParse(url)) return { ok: false, errors: [`${variable} must be empty (to use the pipeline's declared sources) or an http(s) URL`] };
  if (url.includes("{{")) return { ok: false, errors: [`${variable} may not use {{placeholders}}; configure the source in ${context.configName}.sources, with its secrets`] };
  const problem = checkSourceUrl(url);
  if (problem) return { ok: false, errors: [`${variable} ${problem}`] };
  const { name: _variable, ...options } = typeof declared === "string" ? { name: declared } : declared;
  const checked = HttpOptionsSchema.safeParse(options);
  if (!checked.success) return { ok: false, errors: checked.error.issues.map((issue) => `pipeline ${context.pipeline}: vars.sourceUrl${issue.path.map((key) => (typeof key === "number" ? `[${key}]` : `.${String(key)}`)).join("")}: ${issue.message}`) };
  return { ok: true, source: httpSettings({ type: "http", url, ...checked.data }, { name: "primary", defaultTimeoutMs: context.defaultTimeoutMs }) };
}

/** The variable's name, as declared. */
export function urlVariableName(declared: UrlVariable): string {
  return typeof declared === "string" ? declared : declared.name;
}
