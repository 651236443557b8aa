// Reads what HubSpot holds now for the contacts a dry run would write (batch read by email, the
// properties a sync writes). A batch read is a POST but reads only.
import type { Client } from "@hubspot/api-client";
import type { RetryPolicy } from "../../src/config.js";
import { withRetry } from "../../src/util/retry.js";
import { chunks, sameInstant, type CurrentReader, type CurrentValues } from "../shared/current.js";
import { withTimeout } from "../shared/timeout.js";
import { createHubSpotClient } from "./client.js";
import { classifyHubSpotError } from "./errors.js";
import { hubspotPropertyDefinitions, type HubSpotPropertyDefinition } from "./schema.js";
import { HUBSPOT_BATCH_SIZE } from "./writer.js";

export interface HubSpotReaderOptions {
  baseUrl: string;
  token: string;
  retry: RetryPolicy;
  timeoutMs: number;
  /** The properties this connector writes (their types decide how values compare). */
  definitions?: HubSpotPropertyDefinition[];
}

export class HubSpotReader implements CurrentReader {
  readonly name = "hubspot" as const;
  private readonly client: Client;
  private readonly types: Map<string, string>;

  constructor(private readonly opts: HubSpotReaderOptions, client?: Client) {
    this.client = client ?? createHubSpotClient(opts);
    this.types = new Map((opts.definitions ?? hubspotPropertyDefinitions()).map((d) => [d.name, d.type]));
  }

  async readCurrent(emails: readonly string[], properties: readonly string[]): Promise<CurrentValues> {
    const out: CurrentValues = new Map();
    const unique = [...new Set(emails.map((e) => e.toLowerCase()))];
    for (const batch of chunks(unique, HUBSPOT_BATCH_SIZE)) {
      const response = await withRetry(async () => {
        try {
          return await withTimeout("hubspot", "HubSpot batch read", this.opts.timeoutMs,
            this.client.crm.contacts.batchApi.read({
              idProperty: "email",
              inputs: batch.map((id) => ({ id })),
              properties: ["email", ...properties],
              propertiesWithHistory: [],
            }));
        } catch (err) {
          throw classifyHubSpotError(err, "batch read of contacts");
        }
      }, this.opts.retry);
      // Contacts that do not exist come back as a 207 "not found" error: simply absent here.
      for (const contact of response.results) {
        const email = contact.properties.email?.toLowerCase();
        if (!email) continue;
        const values: Record<string, unknown> = {};
        for (const p of properties) values[p] = contact.properties[p] ?? null;
        out.set(email, values);
      }
    }
    return out;
  }

  /** HubSpot values are strings: option sets compare unordered, datetimes by instant, booleans by case. */
  same(property: string, current: unknown, next: unknown): boolean {
    if (typeof current !== "string" || typeof next !== "string") return current === next;
    switch (this.types.get(property)) {
      case "enumeration": {
        const set = (s: string) => [...new Set(s.split(";").map((v) => v.trim()).filter(Boolean))].sort().join(";");
        return set(current) === set(next);
      }
      case "datetime":
        return current === next || sameInstant(current, next) || (/^\d+$/.test(current) && Number(current) === Date.parse(next));
      case "bool":
        return current.toLowerCase() === next.toLowerCase();
      default:
        return current.replace(/\r\n/g, "\n") === next;
    }
  }
}
