import { ApiKeySession, EventsApi, ProfilesApi, RetryWithExponentialBackoff } from "klaviyo-api";

export interface KlaviyoApis {
  profiles: ProfilesApi;
  events: EventsApi;
}

/**
 * The SDK retries 429/503/504 three times by default; that is turned off (numRetries: 0) so the
 * caller's retry policy or Inngest is the only one that retries.
 */
export function createKlaviyoApis(opts: { baseUrl: string; apiKey: string }): KlaviyoApis {
  const session = new ApiKeySession(opts.apiKey, new RetryWithExponentialBackoff({ numRetries: 0 }));
  const profiles = new ProfilesApi(session);
  const events = new EventsApi(session);
  profiles.basePath = opts.baseUrl;
  events.basePath = opts.baseUrl;
  return { profiles, events };
}
