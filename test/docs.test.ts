// README's CRM schema block is generated from the mapping modules (npm run docs): this fails when it drifts.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { HUBSPOT_SCOPES } from "../connectors/hubspot/doctor.js";
import { hubspotPropertyDefinitions } from "../connectors/hubspot/schema.js";
import { KLAVIYO_SCOPES } from "../connectors/klaviyo/doctor.js";
import { FIELD_KEYS } from "../src/mapping/fields.js";
import { README_PATH, SCHEMA_END, SCHEMA_START, renderSchemaSection, withSchemaSection } from "../scripts/gen-docs.js";

const readme = readFileSync(README_PATH, "utf8");

describe("README", () => {
  it("the CRM schema block is up to date (run `npm run docs` when this fails)", () => {
    const start = readme.indexOf(SCHEMA_START);
    const end = readme.indexOf(SCHEMA_END);
    expect(start, `README.md lacks ${SCHEMA_START}`).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const current = readme.slice(start + SCHEMA_START.length, end).trim();
    expect(current, "README.md's CRM schema block is out of date: run `npm run docs`").toBe(renderSchemaSection().trim());
  });

  it("the generated table has one row per field, with the HubSpot type the connector creates", () => {
    const section = renderSchemaSection();
    const rows = section.split("\n").filter((l) => l.startsWith("| `fashionai_"));
    expect(rows.map((r) => /^\| `([^`]+)`/.exec(r)![1])).toEqual([...FIELD_KEYS]);
    for (const def of hubspotPropertyDefinitions()) {
      expect(rows.find((r) => r.startsWith(`| \`${def.name}\``))).toContain(`| ${def.type} / ${def.fieldType} |`);
    }
    // Examples come from the real mappings: option values on HubSpot, labels on Klaviyo.
    expect(section).toContain('`"autentico;sofisticado_elegante"`');
    expect(section).toContain('`["autêntico","sofisticado; elegante"]`');
  });

  it("regenerating is idempotent and needs the markers", () => {
    expect(withSchemaSection(readme)).toBe(withSchemaSection(withSchemaSection(readme)));
    expect(() => withSchemaSection("# no markers\n")).toThrow(/schema:start/);
  });

  it("names every scope doctor checks, and the operator sections exist", () => {
    for (const scope of [...HUBSPOT_SCOPES.sync, ...HUBSPOT_SCOPES.setup, ...KLAVIYO_SCOPES.sync, ...KLAVIYO_SCOPES.setup]) {
      expect(readme).toContain(`\`${scope}\``);
    }
    for (const heading of ["## CRM schema", "### Dry run", "### doctor", "### Sending events", "### Deploying: Inngest Cloud or a self-hosted server",
      "## Credentials and scopes", "## Logs", "## Troubleshooting"]) {
      expect(readme).toContain(`\n${heading}\n`);
    }
    for (const v of ["INNGEST_SIGNING_KEY", "INNGEST_EVENT_KEY", "INNGEST_BASE_URL", "INNGEST_DEV=0"]) expect(readme).toContain(v);
  });
});
