// Reads what Klaviyo holds now for the profiles a dry run would write: GET /api/profiles filtered by
// email (up to 100 emails a call), only the `properties` a sync writes. Reads only.
import { ApiKeySession, ProfilesApi, RetryWithExponentialBackoff } from "klaviyo-api";
import type { RetryPolicy } from "../../src/config.js";
import { withRetry } from "../../src/util/retry.js";
import { chunks, sameInstant, type CurrentReader, type CurrentValues } from "../shared/current.js";
import { withTimeout } from "../shared/timeout.js";
import { classifyKlaviyoError } from "./errors.js";

/** Klaviyo's `any(email,[…])` filter and page size both stop at 100. */
export const KLAVIYO_READ_BATCH = 100;

export interface KlaviyoReaderOptions {
  baseUrl: string;
  apiKey: string;
  retry: RetryPolicy;
  timeoutMs: number;
}

interface ProfileResource {
  attributes?: { email?: string | null; properties?: Record<string, unknown> | null };
}

export class KlaviyoReader implements CurrentReader {
  readonly name = "klaviyo" as const;
  private readonly profiles: ProfilesApi;

  constructor(private readonly opts: KlaviyoReaderOptions) {
    const session = new ApiKeySession(opts.apiKey, new RetryWithExponentialBackoff({ numRetries: 0 }));
    this.profiles = new ProfilesApi(session);
    this.profiles.basePath = opts.baseUrl;
  }

  async readCurrent(emails: readonly string[], properties: readonly string[]): Promise<CurrentValues> {
    const out: CurrentValues = new Map();
    const unique = [...new Set(emails.map((e) => e.toLowerCase()))];
    for (const batch of chunks(unique, KLAVIYO_READ_BATCH)) {
      const filter = batch.length === 1
        ? `equals(email,${JSON.stringify(batch[0])})`
        : `any(email,[${batch.map((e) => JSON.stringify(e)).join(",")}])`;
      const response = await withRetry(async () => {
        try {
          return await withTimeout("klaviyo", "Klaviyo profile read", this.opts.timeoutMs,
            this.profiles.getProfiles({ filter, pageSize: KLAVIYO_READ_BATCH, fieldsProfile: ["email", "properties"] }));
        } catch (err) {
          throw classifyKlaviyoError(err, "profile read");
        }
      }, this.opts.retry);
      for (const resource of (response.body.data ?? []) as ProfileResource[]) {
        const email = resource.attributes?.email?.toLowerCase();
        if (!email) continue;
        const held = resource.attributes?.properties ?? {};
        const values: Record<string, unknown> = {};
        for (const p of properties) values[p] = held[p] ?? null;
        out.set(email, values);
      }
    }
    return out;
  }

  /** JSON values compare structurally; datetimes by instant (Klaviyo may reformat them). */
  same(_property: string, current: unknown, next: unknown): boolean {
    if (sameInstant(current, next)) return true;
    return JSON.stringify(current) === JSON.stringify(next);
  }
}
