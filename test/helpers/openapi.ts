import Ajv from "ajv";
import addFormats from "ajv-formats";
import type { RecordedRequest } from "../../src/sandbox/index.js";
import { HAS_SHARED, SHARED_DIR } from "./shared.js";

type Checker = (vendor: "hubspot" | "klaviyo", req: { method: string; url: string; body?: unknown }) => string[];

let checker: Checker | undefined;

/** The vendors' own OpenAPI documents (../shared/specs) judging what we sent; undefined without ../shared. */
export async function openApiChecker(): Promise<Checker | undefined> {
  if (!HAS_SHARED) return undefined;
  if (!checker) {
    const mod = await import(`${SHARED_DIR}/tools/openapi-check.mjs`);
    checker = mod.createOpenApiChecker({ Ajv, addFormats }) as Checker;
  }
  return checker;
}

/** Problems in every request a stand-in received (answered by its handler, not by an injected fault). */
export async function specProblems(vendor: "hubspot" | "klaviyo", requests: readonly RecordedRequest[]): Promise<string[]> {
  const check = await openApiChecker();
  if (!check) return [];
  return requests.flatMap((r) => check(vendor, { method: r.method, url: r.path, body: r.body }));
}
