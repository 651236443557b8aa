import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createHubSpotClient } from "../connectors/hubspot/client.js";
import { KlaviyoHttp } from "../connectors/klaviyo/http.js";
import { ConfigError } from "../src/config.js";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";
import { CsvParser, FileSource, IdentifiersSource } from "../src/sources/file.js";
import { HubSpotContactsSource } from "../src/sources/hubspot.js";
import { KlaviyoProfilesSource } from "../src/sources/klaviyo.js";
import type { BackfillSource, SourceRow } from "../src/sources/types.js";

const retry = { attempts: 1, baseDelayMs: 0, maxDelayMs: 0 };
const dir = mkdtempSync(join(tmpdir(), "fashionai-sources-"));
let n = 0;
function file(ext: string, content: string | Buffer): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

async function allRows(source: BackfillSource): Promise<SourceRow[]> {
  const rows: SourceRow[] = [];
  for await (const page of source.pages()) rows.push(...page.rows);
  return rows;
}

function parseAll(text: string, chunk?: number): ReturnType<CsvParser["end"]> {
  const p = new CsvParser();
  const out = [];
  if (chunk) for (let i = 0; i < text.length; i += chunk) out.push(...p.push(text.slice(i, i + chunk)));
  else out.push(...p.push(text));
  out.push(...p.end());
  return out;
}

describe("CSV parser", () => {
  const text =
    '\uFEFFemail,name\r\n' +
    'a@example.com,Ana\r\n' +
    '"b@example.com","Silva, Bruno"\r\n' +
    '\r\n' +
    'c@example.com,"says ""hi""\r\nover two lines"\r\n' +
    'd@example.com,Dora';

  it("handles a BOM, CRLF, quoted commas, doubled quotes, line breaks inside quotes and blank lines", () => {
    expect(parseAll(text)).toEqual([
      { line: 1, fields: ["email", "name"] },
      { line: 2, fields: ["a@example.com", "Ana"] },
      { line: 3, fields: ["b@example.com", "Silva, Bruno"] },
      { line: 5, fields: ["c@example.com", 'says "hi"\r\nover two lines'] },
      { line: 7, fields: ["d@example.com", "Dora"] },
    ]);
  });

  it("gives the same records whatever the chunk boundaries", () => {
    const whole = parseAll(text);
    for (const size of [1, 2, 3, 7, 16]) expect(parseAll(text, size)).toEqual(whole);
  });

  it("reports malformed records with their line and carries on with the next line", () => {
    const bad = 'email\nok1@example.com\nbro"ken@example.com\n"x@example.com"junk\nok2@example.com\n"never closed@example.com\nok3@example.com\n';
    const records = parseAll(bad, 5);
    expect(records).toEqual([
      { line: 1, fields: ["email"] },
      { line: 2, fields: ["ok1@example.com"] },
      { line: 3, error: expect.stringMatching(/quote inside an unquoted field/) },
      { line: 4, error: expect.stringMatching(/after a closing quote/) },
      { line: 5, fields: ["ok2@example.com"] },
      { line: 6, error: expect.stringMatching(/never closed/) },
      { line: 7, fields: ["ok3@example.com"] },
    ]);
  });
});

describe("file source", () => {
  it("reads a CSV with an email column: every non-blank row is a row, malformed ones invalid with their row number", async () => {
    const path = file("csv", "Name,Email\r\nAna,ana@example.com\r\nBruno,\r\nCarla,carla@example.com,extra\r\n\r\nDora,\"dora@example.com\"\r\n");
    const rows = await allRows(new FileSource({ path }));
    expect(rows.map((r) => [r.row, r.request.identifier, r.invalid])).toEqual([
      [2, "ana@example.com", undefined],
      [3, "row 3", "row 3: no email"],
      [4, "carla@example.com", expect.stringMatching(/^row 4: 3 fields, but the header has 2/)],
      [6, "dora@example.com", undefined],
    ]);
  });

  it("takes identifier/by/email columns for non-email lookups", async () => {
    const path = file("csv", "identifier,by,email\n+55 11 99999-8888,phone,ana@example.com\n123.456.789-00,document,\nx,fax,x@example.com\n");
    const rows = await allRows(new FileSource({ path }));
    expect(rows[0]).toEqual({ row: 2, request: { identifier: "+55 11 99999-8888", by: "phone", email: "ana@example.com" } });
    expect(rows[1]).toEqual({ row: 3, request: { identifier: "123.456.789-00", by: "document" } });
    expect(rows[2]!.invalid).toMatch(/^row 4: unknown "by" value "fax"/);
  });

  it("refuses a CSV without an email column (usage error, exit 2) and an unknown extension", async () => {
    const path = file("csv", "name,phone\nAna,123\n");
    await expect(allRows(new FileSource({ path }))).rejects.toThrow(ConfigError);
    await expect(allRows(new FileSource({ path }))).rejects.toThrow(/no "email" column/);
    expect(() => new FileSource({ path: file("xlsx", "x") })).toThrow(/unknown file type/);
    expect(() => new FileSource({ path: join(dir, "missing.csv") })).toThrow(/no such file/);
  });

  it("reads NDJSON lines with identifier/by/email, with a BOM and CRLF; bad lines are invalid with their line number", async () => {
    const path = file("ndjson", [
      '\uFEFF{"email":"ana@example.com"}',
      '{"identifier":"5511999998888","by":"phone","email":"bruno@example.com"}',
      "",
      "{not json",
      '"carla@example.com"',
      '[1,2]',
      '{"identifier":"x","by":"fax"}',
      '{"email":42}',
    ].join("\r\n") + "\r\n");
    const rows = await allRows(new FileSource({ path }));
    expect(rows.map((r) => [r.row, r.request, r.invalid])).toEqual([
      [1, { identifier: "ana@example.com", by: "email" }, undefined],
      [2, { identifier: "5511999998888", by: "phone", email: "bruno@example.com" }, undefined],
      [4, expect.anything(), expect.stringMatching(/^row 4: not valid JSON/)],
      [5, { identifier: "carla@example.com", by: "email" }, undefined],
      [6, expect.anything(), expect.stringMatching(/^row 6: expected a JSON object/)],
      [7, expect.anything(), expect.stringMatching(/^row 7: unknown "by"/)],
      [8, { identifier: "42", by: "email" }, undefined],
    ]);
  });

  it("streams: the first page arrives before the whole file is read", async () => {
    const lines = ["email"];
    for (let i = 0; i < 60_000; i++) lines.push(`user${i}@example.com`);
    const path = file("csv", lines.join("\n"));
    const source = new FileSource({ path });
    const it = source.pages()[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value!.rows).toHaveLength(500);
    const progress = source.progress();
    expect(progress.done).toBeLessThan(progress.total);
    let count = first.value!.rows.length;
    for (let r = await it.next(); !r.done; r = await it.next()) count += r.value.rows.length;
    expect(count).toBe(60_000);
  });

  it("pages inline identifiers by offset", async () => {
    const source = new IdentifiersSource(["a@example.com", { identifier: "123", by: "document", email: "b@example.com" }, "c@example.com"], {}, 2);
    const first = await source.page(undefined);
    expect(first.rows.map((r) => r.row)).toEqual([1, 2]);
    expect(first.rows[1]!.request).toEqual({ identifier: "123", by: "document", email: "b@example.com" });
    const second = await source.page(first.next);
    expect(second).toEqual({ rows: [{ row: 3, request: { identifier: "c@example.com", by: "email" } }] });
  });
});

describe("API sources against the stand-ins", () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox();
  });
  afterAll(() => sb.close());
  beforeEach(() => sb.reset());

  const hubspot = (modifiedSince?: Date) =>
    new HubSpotContactsSource({
      client: createHubSpotClient({ baseUrl: sb.env.HUBSPOT_BASE_URL, token: sb.env.HUBSPOT_ACCESS_TOKEN }),
      retry, timeoutMs: 5000, ...(modifiedSince ? { modifiedSince } : {}),
    });

  it("HubSpot: pages the contacts list 100 at a time with continuous row numbers; a contact without email is invalid", async () => {
    for (let i = 0; i < 249; i++) sb.hubspot.addContact(`c${i}@example.com`);
    sb.hubspot.addContact("");
    const pages = [];
    for await (const p of hubspot().pages()) pages.push(p);
    expect(pages.map((p) => p.rows.length)).toEqual([100, 100, 50]);
    const rows = pages.flatMap((p) => p.rows);
    expect(rows.map((r) => r.row)).toEqual(Array.from({ length: 250 }, (_, i) => i + 1));
    expect(rows[0]!.request).toEqual({ identifier: "c0@example.com", by: "email" });
    expect(rows[249]!.invalid).toMatch(/^row 250: HubSpot contact \d+ has no email/);
    expect(sb.hubspot.stats()["GET /crm/v3/objects/contacts"]).toBe(3);
  });

  it("HubSpot: one page per call, resumable from its cursor", async () => {
    for (let i = 0; i < 150; i++) sb.hubspot.addContact(`c${i}@example.com`);
    const source = hubspot();
    const first = await source.page(undefined);
    const again = await hubspot().page(first.next);
    expect(again.rows[0]).toEqual({ row: 101, request: { identifier: "c100@example.com", by: "email" } });
    expect(again.next).toBeUndefined();
  });

  it("HubSpot with modifiedSince: the search API, only contacts modified since then", async () => {
    for (let i = 0; i < 120; i++) sb.hubspot.addContact(`old${i}@example.com`);
    await new Promise((r) => setTimeout(r, 25));
    const since = new Date();
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 130; i++) sb.hubspot.addContact(`new${i}@example.com`);
    sb.hubspot.addContact("old5@example.com", { firstname: "touched" });
    const rows = await allRows(hubspot(since));
    expect(rows).toHaveLength(131);
    expect(new Set(rows.map((r) => r.request.identifier)).size).toBe(131);
    expect(rows.some((r) => r.request.identifier === "old5@example.com")).toBe(true);
    expect(rows.some((r) => r.request.identifier === "old6@example.com")).toBe(false);
    expect(sb.hubspot.stats()["POST /crm/v3/objects/contacts/search"]).toBe(2);
  });

  it("HubSpot search: goes past the 10,000-result window without repeating or skipping anyone", async () => {
    for (let i = 0; i < 10_150; i++) sb.hubspot.addContact(`s${i}@example.com`);
    const rows = await allRows(hubspot(new Date(0)));
    expect(rows).toHaveLength(10_150);
    expect(new Set(rows.map((r) => r.request.identifier)).size).toBe(10_150);
    expect(sb.hubspot.requests.filter((r) => r.route?.endsWith("/search")).every((r) => r.status === 200)).toBe(true);
  });

  it("Klaviyo: pages the profiles (100 a page), optionally only those updated after a date", async () => {
    for (let i = 0; i < 150; i++) sb.klaviyo.addProfile(`k${i}@example.com`);
    await new Promise((r) => setTimeout(r, 1100)); // Klaviyo's `updated` has second precision in filters
    const since = new Date();
    await new Promise((r) => setTimeout(r, 1100));
    for (let i = 0; i < 30; i++) sb.klaviyo.addProfile(`fresh${i}@example.com`);
    const http = new KlaviyoHttp({ baseUrl: sb.env.KLAVIYO_BASE_URL, apiKey: sb.env.KLAVIYO_API_KEY, timeoutMs: 5000 });
    const all = await allRows(new KlaviyoProfilesSource({ http, retry }));
    expect(all).toHaveLength(180);
    expect(all.map((r) => r.row)).toEqual(Array.from({ length: 180 }, (_, i) => i + 1));
    const fresh = await allRows(new KlaviyoProfilesSource({ http, retry, modifiedSince: since }));
    await http.close();
    expect(fresh.map((r) => r.request.identifier).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `fresh${i}@example.com`).sort());
  });
});
