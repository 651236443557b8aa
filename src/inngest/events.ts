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
