// POST /webhooks/hubspot: HubSpot's webhook deliveries (CRM object subscriptions of a HubSpot app) turned into
// `fashionai/profile.sync.requested` events, so a contact is enriched as soon as it is created or its email
// changes.
//
// Every request is verified with HubSpot's v3 signature before anything else is looked at:
//   X-HubSpot-Signature-v3 = base64(HMAC-SHA256(client secret, method + URI + raw body + timestamp))
//   X-HubSpot-Request-Timestamp = ms since the epoch; older than five minutes (or as far in the future) is stale.
// The URI is the full URL HubSpot called (scheme, host, path and query), with the percent-encodings HubSpot
// lists decoded (%3A : %2F / %3F ? %40 @ %21 ! %24 $ %27 ' %28 ( %29 ) %2A * %2C , %3B ;) and every other
// one kept. Behind a proxy the server cannot know that URL for sure, so HUBSPOT_WEBHOOK_URL (the target URL
// exactly as configured in the HubSpot app) is used when set; otherwise it is rebuilt from X-Forwarded-Proto /
// X-Forwarded-Host / Host and the request path. Signatures are compared in constant time. Unsigned, stale or
// tampered requests get 401 and nothing else happens.
//
// The email: the sync is keyed by email, and a notification carries only the contact's objectId. A change of
// the `email` property carries the new address itself; for the others the emails are read from HubSpot in one
// batch read per delivery (up to 100 notifications). Resolving here rather than in the function keeps the event
// contract unchanged (`identifier` is the email) and lets Inngest deduplicate by event id: each event's id is
// derived from the portal, the contact and the notification time, so HubSpot's redeliveries of the same
// notification never start a second sync.
//
// Ignored (answered 200, so HubSpot does not redeliver them): other subscription types, changes of the
// properties this service writes itself (fashionai_*, which would otherwise loop), contacts without an email.
// A failure to resolve emails or to send the events answers 503, and HubSpot redelivers later.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Client } from "@hubspot/api-client";
import { createHubSpotClient } from "../../connectors/hubspot/client.js";
import { classifyHubSpotError } from "../../connectors/hubspot/errors.js";
import { ConfigError } from "../config.js";
import type { Logger } from "../util/log.js";
import { redact, registerSecret } from "../util/redact.js";

export const HUBSPOT_WEBHOOK_PATH = "/webhooks/hubspot";
/** HubSpot sends at most 100 notifications per request, well under this. */
export const WEBHOOK_MAX_BODY_BYTES = 1024 * 1024;
/** HubSpot: reject requests whose timestamp is older than five minutes. */
export const MAX_SIGNATURE_AGE_MS = 5 * 60 * 1000;

export const SIGNATURE_HEADER = "x-hubspot-signature-v3";
export const TIMESTAMP_HEADER = "x-hubspot-request-timestamp";

/** The percent-encodings HubSpot decodes in the URI before signing (case-insensitive hex); all others stay. */
const DECODED: Record<string, string> = {
  "%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'", "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";",
};

/** The URI as it goes into the v3 signature: HubSpot's listed percent-encodings decoded, the rest as is. */
export function signatureUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()] ?? m);
}

/** base64(HMAC-SHA256(secret, method + uri + body + timestamp)), `uri` as HubSpot called it (decoded here). */
export function signHubSpotV3(secret: string, method: string, uri: string, body: string, timestamp: string): string {
  return createHmac("sha256", secret).update(`${method.toUpperCase()}${signatureUri(uri)}${body}${timestamp}`, "utf8").digest("base64");
}

export type Verification = { ok: true } | { ok: false; reason: "unsigned" | "stale" | "bad signature" };

export function verifyHubSpotV3(opts: {
  secret: string;
  method: string;
  uri: string;
  body: string;
  signature: string | undefined;
  timestamp: string | undefined;
  now?: number;
}): Verification {
  const { signature, timestamp } = opts;
  if (!signature || !timestamp) return { ok: false, reason: "unsigned" };
  if (!/^\d{1,16}$/.test(timestamp)) return { ok: false, reason: "stale" };
  const age = (opts.now ?? Date.now()) - Number(timestamp);
  if (age > MAX_SIGNATURE_AGE_MS || age < -MAX_SIGNATURE_AGE_MS) return { ok: false, reason: "stale" };
  const expected = Buffer.from(signHubSpotV3(opts.secret, opts.method, opts.uri, opts.body, timestamp), "base64");
  const given = /^[A-Za-z0-9+/]+={0,2}$/.test(signature.trim()) ? Buffer.from(signature.trim(), "base64") : Buffer.alloc(0);
  // timingSafeEqual needs equal lengths; a SHA-256 MAC is always 32 bytes, so the length says nothing secret.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: "bad signature" };
  return { ok: true };
}

/** One notification of a delivery (the fields used here; HubSpot sends more). */
export interface HubSpotNotification {
  eventId?: number;
  subscriptionId?: number;
  portalId?: number;
  appId?: number;
  occurredAt?: number;
  subscriptionType?: string;
  /** New developer platform: "object.creation" / "object.propertyChange" with objectTypeId "0-1" for contacts. */
  objectTypeId?: string;
  attemptNumber?: number;
  objectId?: number | string;
  propertyName?: string;
  propertyValue?: string;
  changeSource?: string;
}

/** The event sent per contact. */
export interface SyncRequestEvent {
  id: string;
  name: "fashionai/profile.sync.requested";
  data: { identifier: string; by: "email"; reason: string };
}

export interface HubSpotWebhookOptions {
  /** The HubSpot app's client secret (HUBSPOT_CLIENT_SECRET). */
  secret: string;
  /** The target URL exactly as configured in the HubSpot app (HUBSPOT_WEBHOOK_URL); rebuilt from the request otherwise. */
  publicUrl?: string;
  /** Sends the events (inngest.send). */
  send(events: SyncRequestEvent[]): Promise<unknown>;
  /** Emails of contacts by objectId (a HubSpot batch read); undefined when no HubSpot token is configured. */
  lookupEmails?: (objectIds: string[]) => Promise<Map<string, string>>;
  /** Properties this service writes itself: their changes are ignored (default: names starting with fashionai_). */
  ownProperty?: (name: string) => boolean;
  log: Logger;
  now?: () => number;
}

export interface WebhookRequest {
  method: string;
  /** Path and query as received (req.url). */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface WebhookReply {
  status: number;
  body: Record<string, unknown>;
}

const CONTACT_CREATION = new Set(["contact.creation"]);
const CONTACT_CHANGE = new Set(["contact.propertyChange"]);

function header(headers: WebhookRequest["headers"], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The URL HubSpot called: HUBSPOT_WEBHOOK_URL when set, else rebuilt from the (forwarded) scheme and host. */
export function calledUrl(req: Pick<WebhookRequest, "url" | "headers">, publicUrl?: string): string {
  if (publicUrl) return publicUrl;
  const proto = header(req.headers, "x-forwarded-proto")?.split(",")[0]?.trim() || "http";
  const host = header(req.headers, "x-forwarded-host")?.split(",")[0]?.trim() || header(req.headers, "host") || "localhost";
  return `${proto}://${host}${req.url}`;
}

/** What a notification asks for: a sync of its contact, or nothing (with why). */
function classify(n: HubSpotNotification, ownProperty: (name: string) => boolean): { objectId: string; email?: string; why: string } | { ignore: string } {
  const type = n.subscriptionType ?? "";
  const contact = n.objectTypeId === undefined || n.objectTypeId === "0-1";
  const creation = CONTACT_CREATION.has(type) || (type === "object.creation" && contact && n.objectTypeId !== undefined);
  const change = CONTACT_CHANGE.has(type) || (type === "object.propertyChange" && contact && n.objectTypeId !== undefined);
  if (!creation && !change) return { ignore: `subscription ${type || "(none)"}` };
  if (n.objectId === undefined || n.objectId === null || String(n.objectId).trim() === "") return { ignore: "no objectId" };
  const objectId = String(n.objectId);
  if (creation) return { objectId, why: "hubspot contact.creation" };
  const property = n.propertyName ?? "";
  if (ownProperty(property)) return { ignore: `change of ${property} (written by this service)` };
  if (property === "email") {
    const email = typeof n.propertyValue === "string" ? n.propertyValue.trim() : "";
    return email ? { objectId, email, why: "hubspot contact.propertyChange email" } : { ignore: "email removed" };
  }
  return { objectId, why: `hubspot contact.propertyChange ${property || "(property)"}` };
}

/** Handles one delivery: verify, read, resolve emails, send one event per contact. */
export function createHubSpotWebhookHandler(opts: HubSpotWebhookOptions): (req: WebhookRequest) => Promise<WebhookReply> {
  const ownProperty = opts.ownProperty ?? ((name: string) => name.startsWith("fashionai_"));
  const now = opts.now ?? Date.now;
  return async (req) => {
    const text = req.body.toString("utf8");
    const verdict = verifyHubSpotV3({
      secret: opts.secret, method: req.method, uri: calledUrl(req, opts.publicUrl), body: text,
      signature: header(req.headers, SIGNATURE_HEADER), timestamp: header(req.headers, TIMESTAMP_HEADER), now: now(),
    });
    if (!verdict.ok) {
      opts.log.warn("HubSpot webhook rejected", { reason: verdict.reason });
      return { status: 401, body: { error: verdict.reason === "stale" ? "stale or missing timestamp" : "invalid signature" } };
    }
    let notifications: HubSpotNotification[];
    try {
      const parsed: unknown = JSON.parse(text);
      if (!Array.isArray(parsed)) throw new Error("not an array");
      notifications = parsed.filter((n): n is HubSpotNotification => typeof n === "object" && n !== null);
    } catch {
      return { status: 400, body: { error: "the body must be a JSON array of notifications" } };
    }

    // One sync per contact: the latest notification names it; the latest email change gives its address.
    const wanted = new Map<string, { objectId: string; email?: string; emailAt: number; why: string; portalId: string; occurredAt: number }>();
    let ignored = 0;
    for (const n of notifications) {
      const c = classify(n, ownProperty);
      if ("ignore" in c) {
        ignored += 1;
        opts.log.debug("HubSpot notification ignored", { reason: c.ignore, objectId: n.objectId });
        continue;
      }
      const occurredAt = typeof n.occurredAt === "number" ? n.occurredAt : 0;
      const w = wanted.get(c.objectId) ?? { objectId: c.objectId, emailAt: -1, why: c.why, portalId: String(n.portalId ?? ""), occurredAt: -1 };
      wanted.set(c.objectId, w);
      if (occurredAt >= w.occurredAt) Object.assign(w, { occurredAt, why: c.why, portalId: String(n.portalId ?? w.portalId) });
      if (c.email && occurredAt >= w.emailAt) Object.assign(w, { email: c.email, emailAt: occurredAt });
    }

    const unresolved = [...wanted.values()].filter((w) => !w.email).map((w) => w.objectId);
    if (unresolved.length > 0) {
      if (!opts.lookupEmails) {
        opts.log.warn("HubSpot notifications need HUBSPOT_ACCESS_TOKEN to read the contacts' emails; skipped", { contacts: unresolved.length });
        for (const id of unresolved) wanted.delete(id);
        ignored += unresolved.length;
      } else {
        let emails: Map<string, string>;
        try {
          emails = await opts.lookupEmails(unresolved);
        } catch (err) {
          opts.log.error("HubSpot webhook: reading the contacts' emails failed; HubSpot will redeliver", { error: redact((err as Error)?.message ?? String(err)) });
          return { status: 503, body: { error: "could not read the contacts from HubSpot; retry later" } };
        }
        for (const id of unresolved) {
          const email = emails.get(id);
          if (email) wanted.get(id)!.email = email;
          else {
            wanted.delete(id);
            ignored += 1;
            opts.log.info("HubSpot contact without an email: not synced", { objectId: id });
          }
        }
      }
    }

    const events: SyncRequestEvent[] = [...wanted.values()].map((w) => ({
      id: `hubspot-${w.portalId || "portal"}-${w.objectId}-${w.occurredAt}`,
      name: "fashionai/profile.sync.requested",
      data: { identifier: w.email!, by: "email", reason: w.why },
    }));
    if (events.length > 0) {
      try {
        await opts.send(events);
      } catch (err) {
        opts.log.error("HubSpot webhook: sending the sync requests failed; HubSpot will redeliver", { error: redact((err as Error)?.message ?? String(err)) });
        return { status: 503, body: { error: "could not queue the syncs; retry later" } };
      }
    }
    opts.log.info("HubSpot webhook", { received: notifications.length, queued: events.length, ignored });
    return { status: 200, body: { received: notifications.length, queued: events.length, ignored } };
  };
}

/** Emails by objectId, read with one batch read per 100 contacts. Contacts that no longer exist are left out. */
export function hubspotEmailLookup(client: Client): (objectIds: string[]) => Promise<Map<string, string>> {
  return async (objectIds) => {
    const out = new Map<string, string>();
    for (let i = 0; i < objectIds.length; i += 100) {
      const inputs = objectIds.slice(i, i + 100).map((id) => ({ id }));
      let res: { results?: Array<{ id: string; properties?: Record<string, string | null> }> };
      try {
        res = await client.crm.contacts.batchApi.read({ inputs, properties: ["email"], propertiesWithHistory: [] });
      } catch (err) {
        const e = classifyHubSpotError(err, "batch read of contacts");
        if (e.kind === "not_found") continue;
        throw e;
      }
      for (const r of res.results ?? []) {
        const email = r.properties?.email?.trim();
        if (email) out.set(String(r.id), email);
      }
    }
    return out;
  };
}


/**
 * The handler `serve` mounts, from the environment: HUBSPOT_CLIENT_SECRET enables it (the HubSpot app's
 * client secret), HUBSPOT_WEBHOOK_URL pins the signed URL, HUBSPOT_ACCESS_TOKEN lets it read the contacts'
 * emails. Undefined when no secret is set.
 */
export function hubspotWebhookFromEnv(
  env: Record<string, string | undefined>,
  deps: {
    send: HubSpotWebhookOptions["send"]; log: Logger; hubspot?: { baseUrl: string; token: string };
    /** Properties this service writes (the field plan's names, when mapping overrides rename them). */
    ownProperty?: (name: string) => boolean;
  },
): ((req: WebhookRequest) => Promise<WebhookReply>) | undefined {
  const secret = env.HUBSPOT_CLIENT_SECRET?.trim();
  if (!secret) return undefined;
  registerSecret(secret);
  const publicUrl = env.HUBSPOT_WEBHOOK_URL?.trim();
  if (publicUrl) {
    let url: URL;
    try {
      url = new URL(publicUrl);
    } catch {
      throw new ConfigError(`HUBSPOT_WEBHOOK_URL is not a valid URL (expected the target URL set in the HubSpot app, e.g. https://sync.example.com${HUBSPOT_WEBHOOK_PATH})`);
    }
    if (url.pathname !== HUBSPOT_WEBHOOK_PATH) {
      throw new ConfigError(`HUBSPOT_WEBHOOK_URL must end in ${HUBSPOT_WEBHOOK_PATH} (the path this server answers), got ${url.pathname}`);
    }
  }
  return createHubSpotWebhookHandler({
    secret, send: deps.send, log: deps.log,
    ...(publicUrl ? { publicUrl } : {}),
    ...(deps.ownProperty ? { ownProperty: deps.ownProperty } : {}),
    ...(deps.hubspot ? { lookupEmails: hubspotEmailLookup(createHubSpotClient(deps.hubspot)) } : {}),
  });
}
