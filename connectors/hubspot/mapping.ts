// Fashion.AI profile → HubSpot contact property values. Pure: no I/O; time comes in via ctx.
// HubSpot property values are strings: multi-checkbox values are option VALUES joined by `;`, lists are
// one item per line, booleans "true"/"false", datetimes ISO 8601 UTC, and nothing longer than 65,536
// characters (longer values are cut to fit, ending in `…`, with a warning).
import type { EnumOption, HubSpotMapping, MapToHubSpot, MappingContext } from "../types.js";
import type { ParsedProfile } from "../../src/profile/types.js";
import type { CanonicalValue } from "../../src/mapping/fields.js";
import { DEFAULT_MAPPING_PLAN, planValues, type FieldPlan, type PlannedField } from "../../src/mapping/plan.js";
import { HUBSPOT_MAX_LENGTH, truncateForHubSpot } from "../../src/mapping/text.js";

/**
 * Option values joined by `;`, keeping whole options only: a cut option value would name an option
 * that does not exist (HubSpot rejects it), so options that do not fit in `max` are dropped from the
 * end instead of cutting the string. Returns the options actually written.
 */
export function joinOptionValues(
  options: readonly EnumOption[],
  max: number = HUBSPOT_MAX_LENGTH,
): { value: string; kept: EnumOption[]; dropped: number } {
  const kept: EnumOption[] = [];
  let length = 0;
  for (const option of options) {
    const next = length + (kept.length > 0 ? 1 : 0) + option.value.length;
    if (next > max) break;
    kept.push(option);
    length = next;
  }
  return { value: kept.map((o) => o.value).join(";"), kept, dropped: options.length - kept.length };
}

function format(field: PlannedField, v: CanonicalValue, out: HubSpotMapping): void {
  // Warnings name the field by its default key; values go under the property name of the plan.
  const key = field.key;
  const name = field.name;
  let raw: string;
  switch (v.type) {
    case "options": {
      const { value, kept, dropped } = joinOptionValues(v.value);
      if (dropped > 0) {
        out.warnings.push(
          `${key}: ${dropped} option${dropped === 1 ? "" : "s"} left out to fit HubSpot's ${HUBSPOT_MAX_LENGTH}-character limit`,
        );
      }
      if (kept.length === 0) return;
      out.options[name] = kept;
      out.properties[name] = value;
      return;
    }
    case "text":
    case "datetime":
      raw = v.value;
      break;
    case "list":
      raw = v.value.join("\n");
      break;
    case "boolean":
      raw = v.value ? "true" : "false";
      break;
  }
  const { value, warning } = truncateForHubSpot(raw);
  if (warning !== undefined) out.warnings.push(`${key}: ${warning}`);
  out.properties[name] = value;
}

/**
 * The HubSpot property values of a profile under a field plan (default: PRODUCT.md's schema). Only the
 * plan's fields are written, under its property names; list fields as checkbox options or text.
 */
export function mapToHubSpot(profile: ParsedProfile, ctx: MappingContext, plan: FieldPlan = DEFAULT_MAPPING_PLAN.hubspot): HubSpotMapping {
  const { values, warnings } = planValues(profile, ctx, plan);
  const out: HubSpotMapping = { properties: {}, options: {}, warnings: [...warnings] };
  for (const { field, value } of values) format(field, value, out);
  return out;
}

/** mapToHubSpot bound to a field plan. */
export function createHubSpotMapping(plan: FieldPlan): MapToHubSpot {
  return (profile, ctx) => mapToHubSpot(profile, ctx, plan);
}
