import { Client } from "@hubspot/api-client";
import { SyncError } from "../../src/errors.js";

/**
 * The SDK's own retries stay off (numberOfApiCallRetries: 0, no limiter): retrying is decided once,
 * by the caller's retry policy or by Inngest, so retries never multiply.
 */
export function createHubSpotClient(opts: { baseUrl: string; token: string }): Client {
  return new Client({ accessToken: opts.token, basePath: opts.baseUrl, numberOfApiCallRetries: 0, middleware: [jsonAnswersOnly] });
}

/**
 * The SDK hands a success answer in a text type (a proxy's HTML page with status 200) back as a plain
 * string where an object is expected, and the caller would then fail on it with a TypeError. Such an
 * answer is an unusable body, so it is turned into a transient fault here, before the SDK parses it.
 */
const jsonAnswersOnly = {
  pre: (ctx: unknown) => ctx,
  post: (ctx: unknown) => {
    const { httpStatusCode: status, headers } = ctx as { httpStatusCode: number; headers: Record<string, string | undefined> };
    const type = headers["content-type"] ?? headers["Content-Type"];
    if (status >= 200 && status < 300 && status !== 204 && type !== undefined && !/json/i.test(type)) {
      throw new SyncError("transient", "hubspot", `HubSpot answered ${status} with ${type.split(";")[0]} instead of JSON (a proxy or an outage page)`, { status });
    }
    return ctx;
  },
};
