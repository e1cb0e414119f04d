import { FetchInterceptor } from "@mswjs/interceptors/fetch";
import { http, HttpResponse } from "msw";
import { defineNetwork, InterceptorSource } from "msw/experimental";

export const ALERT_HOOK = "https://hooks.example.test/pipeline";

/**
 * MSW for code running in workerd: only the fetch interceptor (msw/node also patches node:http, which
 * workerd cannot load). Handlers are added per test with `network.use(...)`; an unhandled request is an
 * error, so nothing leaves the machine.
 */
export const network = defineNetwork({
  sources: [new InterceptorSource({ interceptors: [new FetchInterceptor()] })],
  // The alert receiver accepts everything unless a test says otherwise; resetHandlers() comes back to it.
  handlers: [http.post(ALERT_HOOK, () => new HttpResponse(null, { status: 204 }))],
  onUnhandledFrame: "error",
});
