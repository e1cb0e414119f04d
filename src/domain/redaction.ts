/**
 * Secrets never leave the service: URLs are shown redacted wherever they end up (run records, errors,
 * alerts, logs). A query (or fragment) value whose name looks like a credential, the `user:pass@` part,
 * and every part of the URL that holds a known secret value (one that came from a `{{NAME}}` placeholder)
 * become `***`. Secret values are recognised decoded, so no encoding of them slips through.
 */
export const REDACTED = "***";

/** Words that make a parameter's name a credential: `api_key`, `accessToken`, `X-Amz-Signature`, `sig`, … */
const CREDENTIAL_WORDS = new Set([
  "key", "apikey", "accesskey", "token", "secret", "password", "passwd", "pwd", "pass", "passphrase", "signature", "sig",
  "auth", "authorization", "credential", "credentials", "session", "sessionid", "sid", "jsessionid", "phpsessid", "jwt",
  "bearer", "otp", "private",
]);
const CREDENTIAL_PARTS = /token|secret|passw|apikey|api_key|accesskey|access_key|signature|credential|sessid|sessionid/i;
/** Names that are credentials only on their own (an OAuth `code`, not a `country_code`). */
const CREDENTIAL_NAMES = new Set(["code", "state", "nonce"]);

export function isCredentialName(name: string): boolean {
  if (CREDENTIAL_PARTS.test(name) || CREDENTIAL_NAMES.has(name.toLowerCase())) return true;
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  return words.some((word) => CREDENTIAL_WORDS.has(word));
}

/**
 * Secret values shorter than this are only recognised as a whole URL component; searching free text for
 * them would garble it and hide nothing.
 */
const MIN_SECRET_LENGTH = 4;
/** A URL in a message we write is cut to this many characters: an error is for reading, not a copy of the request. */
export const MAX_URL_CHARS = 200;

/** The URL with credentials and secret values replaced by `***`; unchanged (byte for byte) when there are none. */
export function redactUrl(url: string, secrets: readonly string[] = []): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return redactValues(url, secrets);
  }
  const holdsSecret = (value: string) => secrets.some((secret) => secret.length > 0 && (value === secret || (secret.length >= MIN_SECRET_LENGTH && value.includes(secret))));
  let changed = Boolean(parsed.username || parsed.password);
  const path = parsed.pathname
    .split("/")
    .map((segment) => {
      if (!holdsSecret(safeDecode(segment))) return segment;
      changed = true;
      return REDACTED;
    })
    .join("/");
  const query = redactPairs(parsed.search.slice(1), holdsSecret);
  const fragment = parsed.hash.slice(1);
  const hash = fragment.includes("=") ? redactPairs(fragment, holdsSecret) : { text: holdsSecret(safeDecode(fragment)) ? REDACTED : fragment, changed: holdsSecret(safeDecode(fragment)) };
  if (!changed && !query.changed && !hash.changed) return redactValues(url, secrets);
  const userinfo = parsed.username || parsed.password ? `${REDACTED}@` : "";
  return `${parsed.protocol}//${userinfo}${parsed.host}${path}${query.text ? `?${query.text}` : ""}${hash.text ? `#${hash.text}` : ""}`;
}

/** `redactUrl`, cut to MAX_URL_CHARS: for URLs in messages this service writes. */
export function showUrl(url: string, secrets: readonly string[] = []): string {
  const shown = redactUrl(url, secrets);
  return shown.length > MAX_URL_CHARS ? `${shown.slice(0, MAX_URL_CHARS - 1)}…` : shown;
}

/** Redacts every URL inside free text (an error message from a runtime, a log field), and known secret values. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  return redactValues(text, secrets).replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`\\]+/gi, (url) => {
    const trailing = /[).,;:\]]+$/.exec(url)?.[0] ?? "";
    return redactUrl(url.slice(0, url.length - trailing.length), secrets) + trailing;
  });
}

function redactPairs(pairs: string, holdsSecret: (value: string) => boolean): { text: string; changed: boolean } {
  if (pairs === "") return { text: "", changed: false };
  let changed = false;
  const text = pairs
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      const name = equals === -1 ? pair : pair.slice(0, equals);
      const value = equals === -1 ? "" : pair.slice(equals + 1);
      const decodedName = safeDecode(name.replaceAll("+", " "));
      const decodedValue = safeDecode(value.replaceAll("+", " "));
      if ((equals !== -1 && isCredentialName(decodedName)) || holdsSecret(decodedValue) || holdsSecret(decodedName)) {
        changed = true;
        return holdsSecret(decodedName) ? `${REDACTED}=${REDACTED}` : `${name}=${REDACTED}`;
      }
      return pair;
    })
    .join("&");
  return { text, changed };
}

/** Every way a value can be written in a URL or in text, so an encoded secret is found too. */
function encodings(secret: string): Set<string> {
  const forms = new Set([secret, encodeURIComponent(secret), encodeURI(secret), new URLSearchParams({ v: secret }).toString().slice(2)]);
  try {
    forms.add(new URL(`http://x/?v=${secret}`).search.slice(3));
    forms.add(new URL(`http://x/${secret}`).pathname.slice(1));
  } catch {
    // not every value fits in a URL as it is
  }
  return forms;
}

function redactValues(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    for (const form of encodings(secret)) result = result.replaceAll(form, REDACTED);
  }
  return result;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
