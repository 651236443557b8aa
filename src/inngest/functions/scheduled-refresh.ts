import type { Inngest } from "inngest";
import { cron } from "inngest";
import { ConfigError } from "../../config.js";
import { CONNECTOR_NAMES, type ConnectorName } from "../../pipeline/types.js";
import type { BackfillRequested } from "../events.js";

// Fashion.AI profiles change only when fetched again, so the audience is re-synced on a schedule: a cron-triggered
// function that requests a backfill of the configured source. Off unless FASHIONAI_REFRESH_CRON is set.

export interface RefreshSettings {
  /** Inngest cron expression, optionally with a time zone: "0 3 * * *", "TZ=America/Sao_Paulo 0 3 * * 1". */
  cron: string;
  source: "hubspot" | "klaviyo";
  connectors?: ConnectorName[];
  /** Only records modified within this long before the run (ms); all of them when undefined. */
  modifiedWithinMs?: number;
}

type Env = Record<string, string | undefined>;

const DURATION_UNITS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** The schedule from the environment; undefined (no function registered) when FASHIONAI_REFRESH_CRON is unset. */
export function readRefreshSettings(env: Env = process.env): RefreshSettings | undefined {
  const raw = env.FASHIONAI_REFRESH_CRON?.trim();
  if (!raw) return undefined;
  const expr = raw.replace(/^(TZ|CRON_TZ)=\S+\s+/, "");
  const fields = expr.split(/\s+/);
  if (fields.length < 5 || fields.length > 6 || !fields.every((f) => /^[\d*/,\-?LW#A-Za-z]+$/.test(f))) {
    throw new ConfigError(`FASHIONAI_REFRESH_CRON must be a cron expression like "0 3 * * *" (optionally "TZ=America/Sao_Paulo 0 3 * * *"), got "${raw}"`);
  }
  const sourceRaw = (env.FASHIONAI_REFRESH_SOURCE ?? "hubspot").trim().toLowerCase();
  if (sourceRaw !== "hubspot" && sourceRaw !== "klaviyo") {
    throw new ConfigError(`FASHIONAI_REFRESH_SOURCE must be hubspot or klaviyo, got "${env.FASHIONAI_REFRESH_SOURCE}"`);
  }
  const settings: RefreshSettings = { cron: raw, source: sourceRaw };
  const connectorsRaw = env.FASHIONAI_REFRESH_CONNECTORS?.trim();
  if (connectorsRaw) {
    const names = connectorsRaw.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
    const bad = names.filter((n) => !(CONNECTOR_NAMES as readonly string[]).includes(n));
    if (bad.length || names.length === 0) throw new ConfigError(`FASHIONAI_REFRESH_CONNECTORS must be hubspot, klaviyo or hubspot,klaviyo, got "${connectorsRaw}"`);
    settings.connectors = [...new Set(names)] as ConnectorName[];
  }
  const within = env.FASHIONAI_REFRESH_MODIFIED_WITHIN?.trim();
  if (within) {
    const m = /^(\d+)\s*([mhdw])$/i.exec(within);
    if (!m || Number(m[1]) <= 0) throw new ConfigError(`FASHIONAI_REFRESH_MODIFIED_WITHIN must look like "36h" or "7d", got "${within}"`);
    settings.modifiedWithinMs = Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!;
  }
  return settings;
}

export function createScheduledRefresh(inngest: Inngest.Any, settings: RefreshSettings) {
  return inngest.createFunction(
    {
      id: "scheduled-refresh",
      name: "Scheduled Fashion.AI refresh (requests a backfill)",
      triggers: [cron(settings.cron)],
      // A slow backfill never gets a second refresh stacked on top of the first's request.
      concurrency: { limit: 1 },
      retries: 4,
    },
    async ({ step }) => {
      // Memoised, so a retried run requests the same backfill (same id, same window).
      const data: BackfillRequested = await step.run("plan-backfill", () => {
        const now = new Date();
        return {
          source: settings.source,
          backfillId: `refresh_${now.toISOString().replace(/[-:.]/g, "").slice(0, 15)}`,
          ...(settings.connectors ? { connectors: settings.connectors } : {}),
          ...(settings.modifiedWithinMs ? { modifiedSince: new Date(now.getTime() - settings.modifiedWithinMs).toISOString() } : {}),
        };
      });
      await step.sendEvent("request-backfill", { name: "fashionai/backfill.requested" as const, data });
      return data;
    },
  );
}
