import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";
import { SyncError, kindForStatus, parseRetryAfter } from "../src/errors.js";
import { clearSecretsForTests, redact, registerSecret } from "../src/util/redact.js";
import { mapConcurrent, retryDelayMs, withRetry } from "../src/util/retry.js";

describe("parseRetryAfter", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  it("reads delta-seconds and HTTP dates", () => {
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter(new Date(now + 5000).toUTCString(), now)).toBe(5000);
  });
  it("rejects what Date.parse would wrongly accept as a date", () => {
    // Regression: Date.parse("-5") is a date in 2001, which made the delay 0.
    for (const junk of ["-5", "abc 1", "1 2", "tomorrow"]) expect(parseRetryAfter(junk, now)).toBeUndefined();
  });
});

describe("kindForStatus", () => {
  it("classifies the statuses every API uses", () => {
    expect([401, 403, 404, 429, 500, 503, 408, 400, 409].map(kindForStatus)).toEqual([
      "auth", "auth", "not_found", "rate_limited", "transient", "transient", "transient", "permanent", "permanent",
    ]);
  });
});

describe("withRetry", () => {
  const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 60_000 };
  it("retries only retryable faults, up to the attempts in all", async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new SyncError("transient", "hubspot", "boom"); }, policy, { sleep: async () => {} }))
      .rejects.toThrow("boom");
    expect(calls).toBe(4);
    calls = 0;
    await expect(withRetry(async () => { calls++; throw new SyncError("permanent", "hubspot", "bad"); }, policy)).rejects.toThrow("bad");
    expect(calls).toBe(1);
  });
  it("waits the API's Retry-After, capped at 60 s", () => {
    const err = new SyncError("rate_limited", "klaviyo", "slow", { retryAfterMs: 120_000 });
    expect(retryDelayMs(err, 1, policy)).toBe(60_000);
    expect(retryDelayMs(new SyncError("rate_limited", "klaviyo", "slow", { retryAfterMs: 1500 }), 1, policy)).toBe(1500);
  });
  it("mapConcurrent keeps order and bounds concurrency", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapConcurrent([5, 1, 3, 2, 4], 2, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, n));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(peak).toBe(2);
  });
});

describe("loadConfig", () => {
  it("names the variable at fault", () => {
    expect(() => loadConfig({ FASHIONAI_BASE_URL: "not a url" })).toThrow(/FASHIONAI_BASE_URL/);
    expect(() => loadConfig({ HUBSPOT_BASE_URL: "ftp://x", HUBSPOT_ACCESS_TOKEN: "tok-123456" })).toThrow(/HUBSPOT_BASE_URL/);
    expect(() => loadConfig({ PORT: "eighty" })).toThrow(ConfigError);
  });
  it("enables a connector by its credential", () => {
    const c = loadConfig({ HUBSPOT_ACCESS_TOKEN: "tok-123456" });
    expect(c.hubspot?.baseUrl).toBe("https://api.hubapi.com");
    expect(c.klaviyo).toBeUndefined();
  });
});

describe("redact", () => {
  it("removes registered secrets and bearer tokens from any text", () => {
    clearSecretsForTests();
    registerSecret("pat-secret-value-123");
    expect(redact("token pat-secret-value-123 leaked")).toBe("token [redacted] leaked");
    expect(redact("Authorization: Bearer abcdefghijkl")).toBe("Authorization: Bearer [redacted]");
    expect(redact("Klaviyo-API-Key pk_abcdefghijkl")).toBe("Klaviyo-API-Key [redacted]");
  });
});
