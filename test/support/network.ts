import { FetchInterceptor } from "@mswjs/interceptors/fetch";
import { defineNetwork, InterceptorSource } from "msw/experimental";

/**
 * MSW for code running in workerd: only the fetch interceptor (msw/node also patches node:http, which
 * workerd cannot load). Handlers are added per test with `network.use(...)`; an unhandled request is an
 * error, so nothing leaves the machine.
 */
export const network = defineNetwork({
  sources: [new InterceptorSource({ interceptors: [new FetchInterceptor()] })],
  onUnhandledFrame: "error",
});
