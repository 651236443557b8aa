// Dead letters: every sync request that failed for good becomes a `fashionai/profile.sync.failed` event (and a
// failed backfill a `fashionai/backfill.failed` one), carrying what to send again to replay it. They show in the
// Inngest dashboard's event stream, can be listed with the REST API, and can trigger an alert function.
//
// Three ways a request fails for good, each covered once:
//   1. One record fails inside a run that otherwise goes on (its fetch kept failing, a CRM rejected it):
//      `deadLettersForResults` at the end of the run.
//   2. A whole run fails for good (a step exhausted its retries, a wrong credential): `withDeadLetters` around the
//      run's body catches the final error and sends one dead letter per event of the batch (Inngest's failure
//      event names only the first event of a batch, so this cannot be left to onFailure), then fails the run
//      with the error, marked as dead-lettered.
//   3. Anything else (a run that failed where no code of ours could catch it): the `onFailure` handler sends
//      dead letters for the events the failure names, unless the run already did (the mark).
import { NonRetriableError, StepError } from "inngest";
import type { Service } from "../errors.js";
import { LOOKUP_KINDS, type LookupBy, type RecordResult } from "../pipeline/types.js";
import { redact } from "../util/redact.js";
import { backfillFailed, profileSyncFailed, type BackfillFailed, type ProfileSyncFailed } from "./events.js";

export const PROFILE_SYNC_REQUESTED = "fashionai/profile.sync.requested";
/** Starts the message of a run that sent its dead letters itself (onFailure then sends none). */
export const DEAD_LETTERED = "[dead-lettered]";

interface EventLike {
  name?: string;
  id?: string;
  data?: unknown;
}

interface OutgoingEvent {
  name: string;
  id?: string;
  data: Record<string, unknown>;
}

/** The part of Inngest's step tools used here. */
export interface SendStep {
  sendEvent(id: string, payload: OutgoingEvent | OutgoingEvent[]): Promise<unknown>;
}

/** Which API a step talks to, from its id (fetch-profiles…, write-hubspot, write-klaviyo, klaviyo-…). */
export function connectorOfStep(stepId: string | undefined): Service | undefined {
  if (!stepId) return undefined;
  if (/^fetch/.test(stepId)) return "fashionai";
  if (/hubspot/.test(stepId)) return "hubspot";
  if (/klaviyo/.test(stepId)) return "klaviyo";
  return undefined;
}

/** The failed step of an error, when the SDK says (a StepError, or its serialized form). */
export function stepOf(err: unknown): string | undefined {
  const stepId = (err as { stepId?: unknown } | null)?.stepId;
  return typeof stepId === "string" && stepId !== "" ? stepId : undefined;
}

function record(data: unknown): Record<string, unknown> {
  return data && typeof data === "object" && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

/** One dead letter for one `fashionai/profile.sync.requested` event's data. Tolerates malformed data. */
export function deadLetter(
  request: unknown,
  failure: { reason: string; runId: string; functionId: string; connector?: Service | undefined; step?: string | undefined; at?: Date },
): ProfileSyncFailed {
  const data = record(request);
  const by: LookupBy = typeof data.by === "string" && (LOOKUP_KINDS as readonly string[]).includes(data.by) ? (data.by as LookupBy) : "email";
  const identifier = typeof data.identifier === "string" ? data.identifier : String(data.identifier ?? "");
  const email = typeof data.email === "string" && data.email !== "" ? data.email : by === "email" && identifier !== "" ? identifier.trim().toLowerCase() : undefined;
  const letter: ProfileSyncFailed = {
    identifier, by, reason: redact(failure.reason), runId: failure.runId, functionId: failure.functionId,
    request: data, failedAt: (failure.at ?? new Date()).toISOString(),
  };
  if (email !== undefined) letter.email = email;
  if (failure.connector) letter.connector = failure.connector;
  if (failure.step) letter.step = failure.step;
  return letter;
}

/** Where a failed record failed: the first connector that failed, else the fetch. */
function connectorOfResult(result: RecordResult): Service {
  const failed = Object.entries(result.connectors ?? {}).find(([, o]) => o?.status === "failed" || o?.status === "skipped");
  return (failed?.[0] as Service | undefined) ?? "fashionai";
}

/** Dead letters for the records of a run that ended `failed` (results[i] answers events[i]). */
export function deadLettersForResults(events: readonly EventLike[], results: readonly RecordResult[], runId: string, functionId: string): ProfileSyncFailed[] {
  const out: ProfileSyncFailed[] = [];
  results.forEach((result, i) => {
    if (result.status !== "failed") return;
    out.push(deadLetter(events[i]?.data ?? { identifier: result.identifier, by: result.by }, {
      reason: result.reason ?? "failed", runId, functionId, connector: connectorOfResult(result),
    }));
  });
  return out;
}

/** The events to send for dead letters (ids make a resend of the same step harmless). */
export function deadLetterEvents(letters: readonly ProfileSyncFailed[], key: string): OutgoingEvent[] {
  return letters.map((data, i) => ({ name: profileSyncFailed.name, id: `dead-letter-${key}-${i}`, data }));
}

/** Sends the dead letters of a run's failed records (nothing when there are none). */
export async function sendDeadLettersForResults(
  step: SendStep, events: readonly EventLike[], results: readonly RecordResult[], runId: string, functionId: string,
): Promise<number> {
  const letters = deadLettersForResults(events, results, runId, functionId);
  if (letters.length > 0) await step.sendEvent("dead-letters", deadLetterEvents(letters, runId));
  return letters.length;
}

/**
 * Runs a function body; when it fails for good (a step out of retries, a NonRetriableError, or any error on the
 * last attempt), sends one dead letter per sync request of the batch, then fails the run with the same message,
 * marked so that onFailure does not send them again. Earlier attempts' errors are rethrown untouched.
 */
export async function withDeadLetters<T>(
  ctx: { events: readonly EventLike[]; step: SendStep; runId: string; attempt: number; maxAttempts?: number | undefined },
  functionId: string,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (err) {
    const final = err instanceof StepError || err instanceof NonRetriableError
      || (ctx.maxAttempts !== undefined && ctx.attempt + 1 >= ctx.maxAttempts);
    if (!final) throw err;
    const message = redact((err as Error)?.message ?? String(err));
    const stepId = stepOf(err);
    const letters = ctx.events
      .filter((e) => e.name === undefined || e.name === PROFILE_SYNC_REQUESTED)
      .map((e) => deadLetter(e.data, { reason: message, runId: ctx.runId, functionId, connector: connectorOfStep(stepId), step: stepId }));
    if (letters.length > 0) await ctx.step.sendEvent("dead-letters-run", deadLetterEvents(letters, `${ctx.runId}-run`));
    throw new NonRetriableError(`${DEAD_LETTERED} ${message}`, { cause: err });
  }
}

/** The `inngest/function.failed` event as the failure handler receives it. */
interface FailureContext {
  event: { data: { run_id?: string; function_id?: string; event?: EventLike; events?: EventLike[]; error?: { message?: string; stepId?: string } } };
  error: Error;
  step: SendStep;
}

/** onFailure for sync-profiles: dead letters for the failed run's requests, unless the run sent them itself. */
export function profileSyncOnFailure(functionId = "sync-profiles") {
  return async ({ event, error, step }: FailureContext): Promise<{ deadLetters: number; skipped?: string }> => {
    const message = error?.message ?? event.data.error?.message ?? "failed";
    if (message.startsWith(DEAD_LETTERED)) return { deadLetters: 0, skipped: "the run sent its dead letters itself" };
    const runId = event.data.run_id ?? "unknown";
    const stepId = stepOf(error) ?? stepOf(event.data.error);
    const originals = event.data.events?.length ? event.data.events : event.data.event ? [event.data.event] : [];
    const letters = originals
      .filter((e) => e.name === undefined || e.name === PROFILE_SYNC_REQUESTED)
      .map((e) => deadLetter(e.data, { reason: message, runId, functionId, connector: connectorOfStep(stepId), step: stepId }));
    if (letters.length > 0) await step.sendEvent("dead-letters", deadLetterEvents(letters, runId));
    return { deadLetters: letters.length };
  };
}

/** onFailure for backfill: one `fashionai/backfill.failed` with the request to send again. */
export function backfillOnFailure() {
  return async ({ event, error, step }: FailureContext): Promise<BackfillFailed> => {
    const data = record(event.data.event?.data);
    const stepId = stepOf(error) ?? stepOf(event.data.error);
    const letter: BackfillFailed = {
      source: typeof data.source === "string" ? data.source : "unknown",
      reason: redact(error?.message ?? event.data.error?.message ?? "failed"),
      runId: event.data.run_id ?? "unknown",
      request: data,
      failedAt: new Date().toISOString(),
    };
    if (typeof data.backfillId === "string") letter.backfillId = data.backfillId;
    if (stepId) letter.step = stepId;
    await step.sendEvent("dead-letter", { name: backfillFailed.name, id: `dead-letter-${letter.runId}`, data: letter });
    return letter;
  };
}
