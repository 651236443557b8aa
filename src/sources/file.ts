// A file as a backfill source, read as a stream (memory stays flat whatever its size):
//   - CSV (RFC 4180) with a header row and an `email` column; optional `identifier` and `by` columns for lookups
//     by phone, document or user-profile-id (then `email` is the CRM key). Quoted fields (with commas, doubled
//     quotes and line breaks inside), a UTF-8 BOM, CRLF or LF line ends, blank lines (skipped).
//   - NDJSON: one JSON object per line, `{ "identifier": ..., "by"?: ..., "email"?: ... }` or just `{ "email": ... }`.
// A malformed record never stops the file: it becomes an `invalid` row naming its line ("row 7: ..."), and
// parsing resumes on the next line. Row numbers are physical line numbers (the CSV header is row 1, as in a
// spreadsheet).
import { createReadStream, statSync } from "node:fs";
import { extname } from "node:path";
import { ConfigError } from "../config.js";
import { parseLookupBy } from "../identifiers.js";
import type { LookupBy, SyncRequest } from "../pipeline/types.js";
import type { BackfillSource, SourcePage, SourceRow } from "./types.js";

export const FILE_PAGE_SIZE = 500;
/** A record longer than this is malformed (usually a quote that is never closed); parsing resumes after its first line. */
export const MAX_RECORD_CHARS = 1024 * 1024;

export type FileFormat = "csv" | "ndjson";

export function detectFormat(path: string): FileFormat | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === ".csv" || ext === ".txt") return "csv";
  if (ext === ".ndjson" || ext === ".jsonl" || ext === ".json") return "ndjson";
  return undefined;
}

/** One parsed CSV record, or the reason it could not be parsed; `line` is where it starts (1-based). */
export type CsvRecord = { line: number; fields: string[] } | { line: number; error: string };

/**
 * Incremental RFC 4180 parser: `push` text as it arrives, `end` at the end. Keeps only the record being read.
 * Strict about quotes (a quote inside an unquoted field, text after a closing quote, a quote never closed are
 * errors), lenient about line ends (CRLF, LF or a lone CR).
 */
export class CsvParser {
  private buf = "";
  private line = 1;
  private started = false;

  push(text: string): CsvRecord[] {
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buf += text;
    return this.drain(false);
  }

  end(): CsvRecord[] {
    return this.drain(true);
  }

  private drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    let pos = 0;
    while (pos < this.buf.length) {
      const r = this.record(pos, final);
      if (r.kind === "incomplete") break;
      if (r.kind === "error") out.push({ line: this.line, error: r.reason });
      else if (!(r.fields.length === 1 && r.fields[0] === "")) out.push({ line: this.line, fields: r.fields });
      this.line += r.lines;
      pos = r.end;
    }
    this.buf = this.buf.slice(pos);
    return out;
  }

  /** Reads one record starting at `pos`. On an error the record is its first physical line only. */
  private record(pos: number, final: boolean):
    | { kind: "incomplete" }
    | { kind: "record"; fields: string[]; end: number; lines: number }
    | { kind: "error"; reason: string; end: number; lines: number } {
    const s = this.buf;
    const fields: string[] = [];
    let i = pos;
    let lines = 0;
    const firstLine = (): { end: number; lines: number } => {
      const nl = s.slice(pos).search(/\r\n|\n|\r/);
      if (nl < 0) return { end: s.length, lines: 0 };
      const at = pos + nl;
      return { end: at + (s.startsWith("\r\n", at) ? 2 : 1), lines: 1 };
    };
    const error = (reason: string) => {
      if (!final && firstLine().lines === 0) return { kind: "incomplete" as const };
      return { kind: "error" as const, reason, ...firstLine() };
    };
    for (;;) {
      if (i - pos > MAX_RECORD_CHARS) return { kind: "error", reason: `record longer than ${MAX_RECORD_CHARS} characters (a quote never closed?)`, ...firstLine() };
      if (i >= s.length) {
        if (!final) return { kind: "incomplete" };
        fields.push("");
        return { kind: "record", fields, end: i, lines };
      }
      if (s[i] === '"') {
        // Quoted field: runs to the next quote not doubled.
        let value = "";
        let j = i + 1;
        for (;;) {
          const q = s.indexOf('"', j);
          if (q < 0) {
            if (!final && s.length - pos <= MAX_RECORD_CHARS) return { kind: "incomplete" };
            return { kind: "error", reason: "a quoted field is never closed", ...firstLine() };
          }
          if (q + 1 >= s.length && !final) return { kind: "incomplete" };
          value += s.slice(j, q);
          if (s[q + 1] === '"') {
            value += '"';
            j = q + 2;
            continue;
          }
          j = q + 1;
          break;
        }
        lines += countLineBreaks(s, i, j);
        i = j;
        fields.push(value);
        if (i >= s.length) {
          if (!final) return { kind: "incomplete" };
          return { kind: "record", fields, end: i, lines };
        }
        const c = s[i];
        if (c === ",") {
          i++;
          continue;
        }
        if (c === "\n" || c === "\r") return this.endOfRecord(fields, i, lines, final);
        return error("unexpected text after a closing quote");
      }
      // Unquoted field: runs to the next comma or line break.
      let j = i;
      while (j < s.length && s[j] !== "," && s[j] !== "\n" && s[j] !== "\r") {
        if (s[j] === '"') return error("a quote inside an unquoted field (quote the whole field and double the quote)");
        j++;
      }
      if (j >= s.length && !final) return { kind: "incomplete" };
      fields.push(s.slice(i, j));
      i = j;
      if (i >= s.length) return { kind: "record", fields, end: i, lines };
      if (s[i] === ",") {
        i++;
        continue;
      }
      return this.endOfRecord(fields, i, lines, final);
    }
  }

  private endOfRecord(fields: string[], i: number, lines: number, final: boolean) {
    const s = this.buf;
    if (s[i] === "\r") {
      if (i + 1 >= s.length && !final) return { kind: "incomplete" as const };
      return { kind: "record" as const, fields, end: s[i + 1] === "\n" ? i + 2 : i + 1, lines: lines + 1 };
    }
    return { kind: "record" as const, fields, end: i + 1, lines: lines + 1 };
  }
}

function countLineBreaks(s: string, from: number, to: number): number {
  let n = 0;
  for (let k = from; k < to; k++) {
    if (s[k] === "\n") n++;
    else if (s[k] === "\r" && s[k + 1] !== "\n") n++;
  }
  return n;
}

/** Column positions found in a CSV header. */
interface Columns {
  email?: number;
  identifier?: number;
  by?: number;
  count: number;
}

function headerColumns(fields: string[], path: string): Columns {
  const names = fields.map((f) => f.trim().toLowerCase().replace(/^\ufeff/, ""));
  const at = (...candidates: string[]) => {
    const i = names.findIndex((n) => candidates.includes(n));
    return i < 0 ? undefined : i;
  };
  const cols: Columns = { count: names.length };
  const email = at("email", "e-mail", "email address");
  const identifier = at("identifier");
  const by = at("by");
  if (email !== undefined) cols.email = email;
  if (identifier !== undefined) cols.identifier = identifier;
  if (by !== undefined) cols.by = by;
  if (cols.email === undefined && cols.identifier === undefined) {
    throw new ConfigError(`${path}: the CSV header has no "email" column (found: ${names.slice(0, 10).map((n) => JSON.stringify(n)).join(", ") || "nothing"})`);
  }
  return cols;
}

function csvRow(record: CsvRecord, cols: Columns): SourceRow {
  const row = record.line;
  if ("error" in record) return { row, request: { identifier: `row ${row}`, by: "email" }, invalid: `row ${row}: ${record.error}` };
  const f = record.fields;
  const get = (i: number | undefined) => (i === undefined ? undefined : (f[i] ?? "").trim());
  const email = get(cols.email);
  const identifier = get(cols.identifier);
  const byText = get(cols.by);
  if (f.length > cols.count) {
    return { row, request: { identifier: identifier || email || `row ${row}`, by: "email" }, invalid: `row ${row}: ${f.length} fields, but the header has ${cols.count} (an unquoted comma?)` };
  }
  return requestRow(row, { identifier, email, by: byText });
}

/** Builds the request for one row given its raw fields; blank fields are absent. */
function requestRow(row: number, raw: { identifier?: string | undefined; email?: string | undefined; by?: string | undefined }): SourceRow {
  let by: LookupBy = "email";
  if (raw.by) {
    const parsed = parseLookupBy(raw.by);
    if (!parsed) {
      return { row, request: { identifier: raw.identifier || raw.email || `row ${row}`, by: "email" }, invalid: `row ${row}: unknown "by" value ${JSON.stringify(raw.by)} (use email, phone, document or user-profile-id)` };
    }
    by = parsed;
  }
  const identifier = raw.identifier || (by === "email" ? raw.email : undefined);
  if (!identifier) {
    return { row, request: { identifier: `row ${row}`, by }, invalid: `row ${row}: ${by === "email" ? "no email" : "no identifier"}` };
  }
  const request: SyncRequest = { identifier, by };
  if (raw.email && !(by === "email" && raw.identifier === undefined)) request.email = raw.email;
  return { row, request };
}

function ndjsonRow(line: string, row: number): SourceRow | undefined {
  const text = line.trim();
  if (text === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { row, request: { identifier: `row ${row}`, by: "email" }, invalid: `row ${row}: not valid JSON (${(err as Error).message.split("\n")[0]})` };
  }
  if (typeof value === "string") return requestRow(row, { email: value });
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    return { row, request: { identifier: `row ${row}`, by: "email" }, invalid: `row ${row}: expected a JSON object with "identifier" or "email"` };
  }
  const o = value as Record<string, unknown>;
  const str = (k: string): string | undefined | null => {
    const v = o[k];
    if (v === undefined || v === null) return undefined;
    return typeof v === "string" || typeof v === "number" ? String(v).trim() : null;
  };
  const identifier = str("identifier");
  const email = str("email");
  const by = str("by");
  for (const [k, v] of [["identifier", identifier], ["email", email], ["by", by]] as const) {
    if (v === null) return { row, request: { identifier: `row ${row}`, by: "email" }, invalid: `row ${row}: "${k}" must be a string` };
  }
  return requestRow(row, { identifier: identifier ?? undefined, email: email ?? undefined, by: by ?? undefined });
}

export interface FileSourceOptions {
  path: string;
  format?: FileFormat;
  pageSize?: number;
}

export class FileSource implements BackfillSource {
  readonly kind = "file";
  readonly label: string;
  readonly format: FileFormat;
  private readonly size: number;
  private bytesRead = 0;

  constructor(private readonly opts: FileSourceOptions) {
    const format = opts.format ?? detectFormat(opts.path);
    if (!format) throw new ConfigError(`--source ${opts.path}: unknown file type; use a .csv or .ndjson (.jsonl) file`);
    this.format = format;
    try {
      const st = statSync(opts.path);
      if (!st.isFile()) throw new Error("not a file");
      this.size = st.size;
    } catch {
      throw new ConfigError(`--source ${opts.path}: no such file`);
    }
    this.label = opts.path;
  }

  progress() {
    return { done: this.bytesRead, total: this.size, unit: "bytes" as const };
  }

  async *pages(): AsyncGenerator<SourcePage> {
    const pageSize = this.opts.pageSize ?? FILE_PAGE_SIZE;
    let rows: SourceRow[] = [];
    const stream = createReadStream(this.opts.path, { highWaterMark: 64 * 1024 });
    const decoder = new TextDecoder("utf-8");
    const csv = this.format === "csv" ? new CsvParser() : undefined;
    let cols: Columns | undefined;
    let pendingLine = "";
    let lineNo = 0;
    let first = true;
    const take = (records: CsvRecord[]) => {
      for (const r of records) {
        if (!cols) {
          if ("error" in r) throw new ConfigError(`${this.opts.path}: the CSV header (line ${r.line}) is malformed: ${r.error}`);
          cols = headerColumns(r.fields, this.opts.path);
          continue;
        }
        rows.push(csvRow(r, cols));
      }
    };
    const takeLines = (text: string, final: boolean) => {
      const parts = (pendingLine + text).split("\n");
      pendingLine = final ? "" : parts.pop()!;
      for (const part of parts) {
        lineNo += 1;
        let line = part.endsWith("\r") ? part.slice(0, -1) : part;
        if (lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        const r = ndjsonRow(line, lineNo);
        if (r) rows.push(r);
      }
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      this.bytesRead += chunk.length;
      let text = decoder.decode(chunk, { stream: true });
      if (first) {
        first = false;
        if (!csv && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      }
      if (csv) take(csv.push(text));
      else takeLines(text, false);
      while (rows.length >= pageSize) {
        yield { rows: rows.slice(0, pageSize) };
        rows = rows.slice(pageSize);
      }
    }
    const tail = decoder.decode();
    if (csv) {
      take(csv.push(tail));
      take(csv.end());
      if (!cols) throw new ConfigError(`${this.opts.path}: the file is empty (a CSV needs a header row with an "email" column)`);
    } else {
      takeLines(tail, true);
    }
    while (rows.length > pageSize) {
      yield { rows: rows.slice(0, pageSize) };
      rows = rows.slice(pageSize);
    }
    yield { rows };
  }
}

/** Identifiers given inline (the event's `identifiers`), paged by offset. */
export class IdentifiersSource implements BackfillSource {
  readonly kind = "identifiers";
  readonly label = "identifiers";

  constructor(
    private readonly items: ReadonlyArray<string | { identifier: string; by?: LookupBy; email?: string }>,
    private readonly defaults: { by?: LookupBy } = {},
    private readonly pageSize = FILE_PAGE_SIZE,
  ) {}

  async page(cursor: string | undefined): Promise<SourcePage> {
    const offset = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isInteger(offset) || offset < 0) throw new Error(`identifiers: unusable page cursor ${JSON.stringify(cursor)}`);
    const slice = this.items.slice(offset, offset + this.pageSize);
    const rows: SourceRow[] = slice.map((item, i) => {
      const row = offset + i + 1;
      const request: SyncRequest = typeof item === "string"
        ? { identifier: item, by: this.defaults.by ?? "email" }
        : { identifier: item.identifier, by: item.by ?? this.defaults.by ?? "email", ...(item.email ? { email: item.email } : {}) };
      return { row, request };
    });
    const end = offset + slice.length;
    return { rows, ...(end < this.items.length ? { next: String(end) } : {}) };
  }

  async *pages(cursor?: string): AsyncGenerator<SourcePage> {
    let c = cursor;
    for (;;) {
      const p = await this.page(c);
      yield p;
      if (p.next === undefined) return;
      c = p.next;
    }
  }
}
