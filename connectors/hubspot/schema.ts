// HubSpot contact property definitions, derived from the field table (src/mapping/fields.ts). The shapes
// follow PropertyCreate / PropertyGroupCreate / OptionInput of HubSpot's properties v3 API
// (../shared/specs/hubspot/properties-v3.json).
import { FIELDS, type FieldSpec, type HubSpotFieldType, type HubSpotType } from "../../src/mapping/fields.js";
import { DEFAULT_HUBSPOT_GROUP, DEFAULT_MAPPING_PLAN, type HubSpotPlan, type PlannedField } from "../../src/mapping/plan.js";

/** The default group (PRODUCT.md); a mapping override file may choose another (HubSpotPlan.group). */
export const HUBSPOT_GROUP = DEFAULT_HUBSPOT_GROUP;

/** OptionInput: `hidden`, `label` and `value` are required by the API. */
export interface HubSpotOptionInput {
  label: string;
  value: string;
  hidden: boolean;
  displayOrder: number;
}

export interface HubSpotPropertyDefinition {
  name: string;
  label: string;
  description: string;
  groupName: string;
  type: HubSpotType;
  fieldType: HubSpotFieldType;
  displayOrder: number;
  /**
   * enumeration: starts empty — options are added as records need them (each sync creates the missing
   * ones). bool: HubSpot's boolean checkbox needs exactly the two options with values "true" and "false".
   */
  options?: HubSpotOptionInput[];
}

/** Options of a bool / booleancheckbox property: values "true"/"false", labels in Portuguese. */
export const HUBSPOT_BOOL_OPTIONS: readonly HubSpotOptionInput[] = [
  { label: "Sim", value: "true", hidden: false, displayOrder: 0 },
  { label: "Não", value: "false", hidden: false, displayOrder: 1 },
];

function definition(field: PlannedField, groupName: string): HubSpotPropertyDefinition {
  const { spec } = field;
  const def: HubSpotPropertyDefinition = {
    name: field.name,
    label: spec.label,
    description: spec.description,
    groupName,
    type: field.hubspot.type,
    fieldType: field.hubspot.fieldType,
    // The table position, so turning a field off does not reorder the others.
    displayOrder: (FIELDS as readonly FieldSpec[]).indexOf(spec) + 1,
  };
  if (def.type === "enumeration") def.options = [];
  if (def.type === "bool") def.options = HUBSPOT_BOOL_OPTIONS.map((o) => ({ ...o }));
  return def;
}

/**
 * One definition per field of the plan (default: every field of the table, PRODUCT.md's schema), in
 * table order, under the plan's names and group (fresh objects on every call).
 */
export function hubspotPropertyDefinitions(plan: HubSpotPlan = DEFAULT_MAPPING_PLAN.hubspot): HubSpotPropertyDefinition[] {
  return plan.fields.map((f) => definition(f, plan.group.name));
}

/** What the HubSpot connector creates: the property group and the property definitions. */
export interface HubSpotSchema {
  group: { name: string; label: string };
  definitions: HubSpotPropertyDefinition[];
}

export function hubspotSchema(plan: HubSpotPlan = DEFAULT_MAPPING_PLAN.hubspot): HubSpotSchema {
  return { group: { ...plan.group }, definitions: hubspotPropertyDefinitions(plan) };
}

/** HubSpot option inputs for enumeration options a record needs, in order. */
export function hubspotOptionInputs(
  options: readonly { value: string; label: string }[],
  firstDisplayOrder = 0,
): HubSpotOptionInput[] {
  return options.map((o, i) => ({ label: o.label, value: o.value, hidden: false, displayOrder: firstDisplayOrder + i }));
}
