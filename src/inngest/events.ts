import { eventType } from "inngest";
import { z } from "zod";
import { CONNECTOR_NAMES, LOOKUP_KINDS } from "../pipeline/types.js";

// Schemas without transforms or defaults: Inngest v4 validates with them as they are.
const connectors = z.array(z.enum(CONNECTOR_NAMES as unknown as ["hubspot", "klaviyo"])).min(1);
const by = z.enum(LOOKUP_KINDS as unknown as ["email", "phone", "document", "user-profile-id"]);

export const profileSyncRequestedSchema = z.object({
  identifier: z.string().min(1),
  by: by.optional(),
  email: z.string().min(1).optional(),
  connectors: connectors.optional(),
  reason: z.string().optional(),
  backfillId: z.string().optional(),
});
export type ProfileSyncRequested = z.infer<typeof profileSyncRequestedSchema>;

export const profileSyncRequested = eventType("fashionai/profile.sync.requested", { schema: profileSyncRequestedSchema });

export const segmentsSyncRequested = eventType("fashionai/segments.sync.requested", {
  schema: z.object({ connectors: connectors.optional() }),
});

const identifierItem = z.union([
  z.string().min(1),
  z.object({ identifier: z.string().min(1), by: by.optional(), email: z.string().min(1).optional() }),
]);

export const BACKFILL_SOURCES = ["hubspot", "klaviyo", "identifiers"] as const;

export const backfillRequestedSchema = z
  .object({
    source: z.enum(BACKFILL_SOURCES),
    /** source "identifiers": the records (strings use `by`, default email). */
    identifiers: z.array(identifierItem).optional(),
    by: by.optional(),
    connectors: connectors.optional(),
    /** ISO 8601 date-time: only CRM records modified since then (hubspot and klaviyo sources). */
    modifiedSince: z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: "must be an ISO 8601 date or date-time" }).optional(),
    /** Ties the queued syncs together and lets `fashionai/backfill.cancelled` stop the backfill. */
    backfillId: z.string().min(1).optional(),
    /** Set by the backfill itself when a very large source continues in a new run (Inngest caps steps per run). */
    continuation: z.object({ cursor: z.string(), queued: z.number().int().min(0), invalid: z.number().int().min(0), pages: z.number().int().min(0), run: z.number().int().min(1) }).optional(),
  })
  .refine((d) => d.source !== "identifiers" || (d.identifiers !== undefined && d.identifiers.length > 0), {
    message: 'source "identifiers" needs a non-empty "identifiers" list', path: ["identifiers"],
  });
export type BackfillRequested = z.infer<typeof backfillRequestedSchema>;

export const backfillRequested = eventType("fashionai/backfill.requested", { schema: backfillRequestedSchema });

export const backfillCancelled = eventType("fashionai/backfill.cancelled", {
  schema: z.object({ backfillId: z.string().min(1) }),
});

/** Names each bad field of an event, e.g. `data.by: Invalid option: expected one of ...`. */
export function describeEventProblems(error: z.ZodError): string {
  return error.issues.map((i) => `data.${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}

// Dead letters (src/inngest/dead-letters.ts): what failed for good, with what to send again to replay it.
const service = z.enum(["fashionai", "hubspot", "klaviyo"]);

export const profileSyncFailedSchema = z.object({
  /** As requested (the original event's identifier and lookup kind). */
  identifier: z.string(),
  by: by,
  /** The CRM key, when the request had one (or it is the identifier). */
  email: z.string().optional(),
  /** Where it failed, when known: the Fashion.AI fetch or a CRM write. */
  connector: service.optional(),
  /** The step that failed, when the run failed in a step (e.g. `write-hubspot`). */
  step: z.string().optional(),
  reason: z.string(),
  /** The run that failed (find it in the Inngest dashboard). */
  runId: z.string(),
  functionId: z.string(),
  /** The `fashionai/profile.sync.requested` data to send again to replay it. */
  request: z.record(z.string(), z.unknown()),
  failedAt: z.string(),
});
export type ProfileSyncFailed = z.infer<typeof profileSyncFailedSchema>;

export const profileSyncFailed = eventType("fashionai/profile.sync.failed", { schema: profileSyncFailedSchema });

export const backfillFailedSchema = z.object({
  backfillId: z.string().optional(),
  source: z.string(),
  reason: z.string(),
  step: z.string().optional(),
  runId: z.string(),
  /** The `fashionai/backfill.requested` data to send again to replay it (syncs already queued are harmless to repeat). */
  request: z.record(z.string(), z.unknown()),
  failedAt: z.string(),
});
export type BackfillFailed = z.infer<typeof backfillFailedSchema>;

export const backfillFailed = eventType("fashionai/backfill.failed", { schema: backfillFailedSchema });
