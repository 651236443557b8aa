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

/** Names each bad field of an event, e.g. `data.by: Invalid option: expected one of ...`. */
export function describeEventProblems(error: z.ZodError): string {
  return error.issues.map((i) => `data.${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
}
