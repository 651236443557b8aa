import { Client } from "@hubspot/api-client";

/**
 * The SDK's own retries stay off (numberOfApiCallRetries: 0, no limiter): retrying is decided once,
 * by the caller's retry policy or by Inngest, so retries never multiply.
 */
export function createHubSpotClient(opts: { baseUrl: string; token: string }): Client {
  return new Client({ accessToken: opts.token, basePath: opts.baseUrl, numberOfApiCallRetries: 0 });
}
