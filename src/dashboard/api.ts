/**
 * The dashboard reads the same JSON API as curl does. If the API answers 401 it asks for the token and
 * keeps it in sessionStorage: this browser tab only.
 */
import { $ } from "./dom";

const TOKEN_KEY = "scheduled-pipeline-token";
let token = sessionStorage.getItem(TOKEN_KEY);
let pendingToken: Promise<string> | null = null;

/** An answer other than 2xx, with the message of the API's error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

interface ErrorBody {
  errors?: { code?: string; message?: string }[];
}

export async function api<T>(path: string, init: { method?: "GET" | "POST"; body?: unknown } = {}): Promise<T> {
  for (;;) {
    const headers = new Headers();
    if (token) headers.set("authorization", `Bearer ${token}`);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    const response = await fetch(path, { method: init.method ?? "GET", headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
    const body: unknown = await response.json().catch(() => null);
    const error = (body as ErrorBody | null)?.errors?.[0];
    if (response.status === 401) {
      token = await askForToken(error?.message ?? "");
      continue;
    }
    if (!response.ok) throw new ApiError(response.status, error?.code ?? null, error?.message ?? `HTTP ${response.status}`);
    return body as T;
  }
}

function askForToken(reason: string): Promise<string> {
  pendingToken ??= new Promise((resolve) => {
    const dialog = $<HTMLDialogElement>("token-dialog");
    const input = $<HTMLInputElement>("token-input");
    $("token-error").textContent = token ? `That token was refused: ${reason}` : "";
    input.value = "";
    $<HTMLFormElement>("token-form").onsubmit = () => {
      const value = input.value.trim();
      sessionStorage.setItem(TOKEN_KEY, value);
      pendingToken = null;
      resolve(value);
    };
    if (!dialog.open) dialog.showModal();
  });
  return pendingToken;
}
