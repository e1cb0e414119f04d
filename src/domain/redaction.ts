/**
 * Secrets never leave the service: URLs are shown redacted wherever they end up (run records, errors,
 * alerts, logs). A query value whose name looks like a credential, the password of `user:pass@`, and any
 * known secret value (one that came from a `{{NAME}}` placeholder) become `***`.
 */
export const REDACTED = "***";

/** Words that make a query parameter's name a credential: `api_key`, `accessToken`, `X-Amz-Signature`, `sig`, … */
const CREDENTIAL_WORDS = new Set([
  "key", "apikey", "token", "secret", "password", "passwd", "pwd", "pass", "passphrase", "signature", "sig",
  "auth", "authorization", "credential", "credentials", "session", "sessionid", "jwt", "bearer", "otp", "private",
]);
const CREDENTIAL_PARTS = /token|secret|passw|apikey|api_key|signature|credential/i;

export function isCredentialName(name: string): boolean {
  if (CREDENTIAL_PARTS.test(name)) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some((word) => CREDENTIAL_WORDS.has(word));
}

/** Secret values shorter than this are not searched for in text (they would garble it and hide nothing). */
const MIN_SECRET_LENGTH = 4;
/** A URL in a message is cut to this many characters: an error is for reading, not a copy of the request. */
export const MAX_URL_CHARS = 200;

export function redactUrl(url: string, secrets: readonly string[] = []): string {
  let shown: string;
  try {
    const parsed = new URL(url);
    if (parsed.username || parsed.password) {
      parsed.username = REDACTED;
      parsed.password = "";
    }
    const params = [...parsed.searchParams.keys()];
    if (params.some(isCredentialName)) {
      // Rebuilt by hand so the other parameters keep their exact encoding.
      const query = parsed.search
        .slice(1)
        .split("&")
        .map((pair) => {
          const [name = "", ...value] = pair.split("=");
          return value.length > 0 && isCredentialName(safeDecode(name)) ? `${name}=${REDACTED}` : pair;
        })
        .join("&");
      parsed.search = query;
    }
    shown = parsed.toString().replaceAll(encodeURIComponent(REDACTED), REDACTED);
  } catch {
    shown = url;
  }
  return truncate(redactValues(shown, secrets), MAX_URL_CHARS);
}

/** Redacts every URL inside free text (an error message from a runtime, a log field), and known secret values. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  const withoutValues = redactValues(text, secrets);
  return withoutValues.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]+/gi, (url) => {
    const trailing = /[).,;:\]]+$/.exec(url)?.[0] ?? "";
    return redactUrl(url.slice(0, url.length - trailing.length), secrets) + trailing;
  });
}

function redactValues(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)])) result = result.replaceAll(form, REDACTED);
  }
  return result;
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}
