// POST /api/event-bulk-create-jobs for the Klaviyo stand-in. The request is checked as a whole first — shape,
// at most 1,000 events, and no unique_id twice (Klaviyo rejects the WHOLE request then) — and each event is
// then recorded exactly as POST /api/events would record it (same validation, same dedupe by unique_id).
import type { Reply } from "./http.js";

export const KLAVIYO_BULK_EVENTS_MAX = 1_000;

type ErrorReply = (status: number, detail: string, code?: string, source?: { pointer?: string; parameter?: string }) => Reply;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The single-event request bodies inside a bulk request, or the error that rejects the whole request. */
export function splitEventBulkCreate(body: unknown, error: ErrorReply): { events: unknown[] } | { reply: Reply } {
  const fail = (detail: string, pointer: string, status = 400, code = "invalid") => ({ reply: error(status, detail, code, { pointer }) });
  if (!isRecord(body) || !isRecord(body.data)) return fail("'data' is a required field.", "/data");
  const data = body.data;
  if (data.type !== "event-bulk-create-job") {
    return fail(`The type '${String(data.type)}' does not match the resource type 'event-bulk-create-job'.`, "/data/type", 409, "conflict");
  }
  const bulk = isRecord(data.attributes) ? data.attributes["events-bulk-create"] : undefined;
  const entries = isRecord(bulk) && Array.isArray(bulk.data) ? bulk.data : undefined;
  if (!entries) return fail("'events-bulk-create' is a required field.", "/data/attributes/events-bulk-create/data");
  const events: unknown[] = [];
  const seen = new Set<string>();
  for (const [i, entry] of entries.entries()) {
    const pointer = `/data/attributes/events-bulk-create/data/${i}`;
    if (!isRecord(entry) || entry.type !== "event-bulk-create" || !isRecord(entry.attributes)) {
      return fail("Each entry must be a resource object of type 'event-bulk-create'.", `${pointer}/type`);
    }
    const profile = isRecord(entry.attributes.profile) ? entry.attributes.profile.data : undefined;
    if (!isRecord(profile)) return fail("A profile is required.", `${pointer}/attributes/profile/data`);
    const list = isRecord(entry.attributes.events) && Array.isArray(entry.attributes.events.data) ? entry.attributes.events.data : undefined;
    if (!list) return fail("'events' is a required field.", `${pointer}/attributes/events/data`);
    for (const [j, ev] of list.entries()) {
      const evPointer = `${pointer}/attributes/events/data/${j}`;
      if (!isRecord(ev) || ev.type !== "event" || !isRecord(ev.attributes)) return fail("Each event must be a resource object of type 'event'.", `${evPointer}/type`);
      const uid = ev.attributes.unique_id;
      if (typeof uid === "string" && uid !== "") {
        if (seen.has(uid)) return fail(`Duplicate unique_id '${uid}' in the request: every event in a bulk request needs its own unique_id.`, `${evPointer}/attributes/unique_id`);
        seen.add(uid);
      }
      const { profile: _ignored, ...attributes } = ev.attributes;
      events.push({ data: { type: "event", attributes: { ...attributes, profile: { data: profile } } } });
      if (events.length > KLAVIYO_BULK_EVENTS_MAX) {
        return fail(`A maximum of ${KLAVIYO_BULK_EVENTS_MAX} events can be created per request.`, "/data/attributes/events-bulk-create/data");
      }
    }
  }
  if (events.length === 0) return fail("At least one event is required.", "/data/attributes/events-bulk-create/data");
  return { events };
}
