import { EventEnum, MetricEnum, ProfileEnum } from "klaviyo-api";
import type { RetryPolicy } from "../../src/config.js";
import { SyncError } from "../../src/errors.js";
import type { ConnectorOutcome } from "../../src/pipeline/types.js";
import type { Logger } from "../../src/util/log.js";
import { mapConcurrent, withRetry } from "../../src/util/retry.js";
import type { KlaviyoEventPlan, KlaviyoMapping } from "../types.js";
import { failedOutcome, type ConnectorOutcomes, type ConnectorRecord, type ConnectorWriter } from "../shared/writer.js";
import { withTimeout } from "../shared/timeout.js";
import { createKlaviyoApis, type KlaviyoApis } from "./client.js";
import { checkKlaviyoAnswer, classifyKlaviyoError } from "./errors.js";

export interface KlaviyoWriterOptions {
  baseUrl: string;
  apiKey: string;
  retry: RetryPolicy;
  timeoutMs: number;
  log: Logger;
  /** Profiles written at once (profile-import allows 75/s burst). */
  concurrency?: number;
}

type KRecord = ConnectorRecord<KlaviyoMapping>;

export class KlaviyoWriter implements ConnectorWriter<KlaviyoMapping> {
  readonly name = "klaviyo" as const;
  readonly apis: KlaviyoApis;

  constructor(private readonly opts: KlaviyoWriterOptions) {
    this.apis = createKlaviyoApis(opts);
  }

  private call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(async () => {
      try {
        return checkKlaviyoAnswer(await withTimeout("klaviyo", `Klaviyo ${what}`, this.opts.timeoutMs, fn()), what);
      } catch (err) {
        throw classifyKlaviyoError(err, what);
      }
    }, this.opts.retry);
  }

  async write(records: KRecord[]): Promise<ConnectorOutcomes> {
    const outcomes: ConnectorOutcomes = new Map();
    let authFailure: SyncError | undefined;
    await mapConcurrent(records, this.opts.concurrency ?? 8, async (record) => {
      if (authFailure) return;
      try {
        outcomes.set(record.key, await this.writeOne(record));
      } catch (err) {
        if (!(err instanceof SyncError)) throw err;
        if (err.kind === "auth") authFailure ??= err;
        else outcomes.set(record.key, failedOutcome(record.mapping.properties, err));
      }
    });
    if (authFailure) throw authFailure;
    return outcomes;
  }

  /** Upserts the profile, then sends the moment's event; the event's unique_id makes a resend harmless. */
  async writeOne(record: KRecord): Promise<ConnectorOutcome> {
    await this.call("profile import", () =>
      this.apis.profiles.createOrUpdateProfile({
        data: { type: ProfileEnum.Profile, attributes: { email: record.email, properties: record.mapping.properties } },
      }),
    );
    const outcome: ConnectorOutcome = { status: "written", properties: record.mapping.properties };
    const event = record.mapping.event;
    if (event) {
      await this.sendEvent(record.email, event);
      outcome.event = { metric: event.metric, uniqueId: event.uniqueId, status: "sent" };
    }
    return outcome;
  }

  sendEvent(email: string, event: KlaviyoEventPlan) {
    return this.call("event create", () =>
      this.apis.events.createEvent({
        data: {
          type: EventEnum.Event,
          attributes: {
            properties: event.properties,
            uniqueId: event.uniqueId,
            metric: { data: { type: MetricEnum.Metric, attributes: { name: event.metric } } },
            profile: { data: { type: ProfileEnum.Profile, attributes: { email } } },
          },
        },
      }),
    );
  }
}
