// HubSpot contact property definitions, derived from the field table (src/mapping/fields.ts). The shapes
// follow PropertyCreate / PropertyGroupCreate / OptionInput of HubSpot's properties v3 API
// (../shared/specs/hubspot/properties-v3.json).
import { FIELDS, type FieldSpec, type HubSpotFieldType, type HubSpotType } from "../../src/mapping/fields.js";

export const HUBSPOT_GROUP = { name: "fashionai", label: "Fashion.AI" } as const;

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

function definition(spec: FieldSpec, index: number): HubSpotPropertyDefinition {
  const def: HubSpotPropertyDefinition = {
    name: spec.key,
    label: spec.label,
    description: spec.description,
    groupName: HUBSPOT_GROUP.name,
    type: spec.hubspot.type,
    fieldType: spec.hubspot.fieldType,
    displayOrder: index + 1,
  };
  if (spec.hubspot.type === "enumeration") def.options = [];
  if (spec.hubspot.type === "bool") def.options = HUBSPOT_BOOL_OPTIONS.map((o) => ({ ...o }));
  return def;
}

/** One definition per field of the table, in table order (fresh objects on every call). */
export function hubspotPropertyDefinitions(): HubSpotPropertyDefinition[] {
  return (FIELDS as readonly FieldSpec[]).map(definition);
}

/** HubSpot option inputs for enumeration options a record needs, in order. */
export function hubspotOptionInputs(
  options: readonly { value: string; label: string }[],
  firstDisplayOrder = 0,
): HubSpotOptionInput[] {
  return options.map((o, i) => ({ label: o.label, value: o.value, hidden: false, displayOrder: firstDisplayOrder + i }));
}
