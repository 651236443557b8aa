// The mapping override file, `fashionai-sync.config.json`: its zod schema (the single source of truth; the
// JSON Schema shipped beside it, fashionai-sync.config.schema.json, is generated from it by
// `npm run config-schema`). Every key is optional: an empty file, or no file, means PRODUCT.md's defaults.
import { z } from "zod";
import { FIELDS, type FieldKey, type FieldSpec } from "../mapping/fields.js";
import { DEFAULT_PREFIX, isListField } from "../mapping/plan.js";
import { MAX_SEGMENT_CAP } from "../../connectors/shared/segments.js";

export const CONFIG_FILE_NAME = "fashionai-sync.config.json";
/** Environment variable naming the file (`--config` wins over it). */
export const CONFIG_ENV = "FASHIONAI_SYNC_CONFIG";
export const CONFIG_SCHEMA_FILE = "fashionai-sync.config.schema.json";

// HubSpot internal names: lower-case letters, digits and underscores, starting with a letter.
const HUBSPOT_NAME = /^[a-z][a-z0-9_]*$/;
const HUBSPOT_PREFIX = /^(?:[a-z][a-z0-9_]*)?$/;
// Klaviyo custom property keys are free text; these stay safe in segment conditions (`properties['…']`)
// and in Klaviyo's filter syntax: letters, digits, `_`, `-`, `.` and inner spaces; `$` names are Klaviyo's own.
const KLAVIYO_NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_ .-]*[A-Za-z0-9_])?$/;
const KLAVIYO_PREFIX = /^(?:[A-Za-z0-9_][A-Za-z0-9_ .-]*)?$/;
export const MAX_NAME_LENGTH = 100;
export const MAX_PREFIX_LENGTH = 50;

/**
 * HubSpot contact properties a field must never be renamed to: writing Fashion.AI text over them would
 * damage the contact (the sync matches contacts by `email`). Names starting with `hs_` are HubSpot's own.
 */
export const HUBSPOT_RESERVED_NAMES: readonly string[] = [
  "email", "firstname", "lastname", "phone", "mobilephone", "company", "website", "address", "city", "state", "zip",
  "country", "jobtitle", "lifecyclestage", "hubspot_owner_id", "createdate", "lastmodifieddate", "closedate",
  "notes_last_updated", "associatedcompanyid",
];

const HUBSPOT_NAME_RULE = "a HubSpot property name: lower-case letters a-z, digits and _, starting with a letter";
const KLAVIYO_NAME_RULE = "a Klaviyo property name: letters, digits, _, - and . (spaces only inside), no quotes";

function nameSchema(crm: "hubspot" | "klaviyo") {
  const rule = crm === "hubspot" ? HUBSPOT_NAME_RULE : KLAVIYO_NAME_RULE;
  let s = z
    .string({ error: `expected ${rule}` })
    .max(MAX_NAME_LENGTH, { error: `expected at most ${MAX_NAME_LENGTH} characters` })
    .regex(crm === "hubspot" ? HUBSPOT_NAME : KLAVIYO_NAME, { error: `expected ${rule}` });
  if (crm === "hubspot") {
    s = s
      .refine((v) => !v.startsWith("hs_"), { error: "names starting with hs_ are HubSpot's own; choose another name" })
      .refine((v) => !HUBSPOT_RESERVED_NAMES.includes(v), { error: "that is a standard HubSpot contact property; choose another name" });
  }
  return s;
}

const enabledSchema = z.boolean({ error: "expected true or false" }).meta({ description: "false: this field is not written, created or checked." });

function fieldSchema(crm: "hubspot" | "klaviyo", spec: FieldSpec) {
  const name = nameSchema(crm).meta({
    description: `Property name to write instead of ${spec.key} (the prefix does not apply to it).`,
  });
  const base = { name: name.optional(), enabled: enabledSchema.optional() };
  const list = isListField(spec);
  const shape = list
    ? {
        ...base,
        fieldType: z
          .enum(["checkbox", "textarea"], { error: 'expected "checkbox" or "textarea"' })
          .meta({
            description: crm === "hubspot"
              ? "checkbox: an enumeration (multiple checkboxes) with one option per distinct item; textarea: text, one item per line."
              : "checkbox: an array of option labels (deduplicated like enumeration options); textarea: one string, one item per line. Unset: an array, as in the default schema.",
          })
          .optional(),
      }
    : base;
  return z.strictObject(shape).meta({ description: `${spec.label} — source: ${spec.source}.` });
}

function propertiesSchema(crm: "hubspot" | "klaviyo") {
  const shape = Object.fromEntries((FIELDS as readonly FieldSpec[]).map((spec) => [spec.key, fieldSchema(crm, spec).optional()]));
  // Typed as one override shape for every key (fieldType is only accepted where the schema allows it).
  type FieldOverrideSchema = z.ZodOptional<z.ZodType<{ name?: string; enabled?: boolean; fieldType?: "checkbox" | "textarea" }>>;
  return z.strictObject(shape as unknown as Record<FieldKey, FieldOverrideSchema>).meta({
    description: "Per field, by its default key (PRODUCT.md, e.g. fashionai_tom_de_voz): rename, disable, or choose the form of a list field.",
  });
}

const toneCapSchema = z
  .int({ error: `expected a whole number from 0 to ${MAX_SEGMENT_CAP}` })
  .min(0, { error: `expected a whole number from 0 to ${MAX_SEGMENT_CAP}` })
  .max(MAX_SEGMENT_CAP, { error: `expected a whole number from 0 to ${MAX_SEGMENT_CAP}` })
  .meta({ description: "Most tone-of-voice segments made in this CRM (default 50). FASHIONAI_SEGMENT_CAP and `setup --cap` win over it." });

const segmentsSchema = z.strictObject({ toneCap: toneCapSchema.optional() });

const toneSynonymsSchema = z
  .record(z.string(), z.string({ error: "expected the tone value to fold into, as text" }))
  .meta({
    description:
      "Tone values folded together before options and segments are made: { \"elegante\": \"sofisticado\" } writes sofisticado " +
      "wherever a profile says elegante. Matched like options are (case, accents, spacing and punctuation do not matter).",
  });

function connectorSchema(crm: "hubspot" | "klaviyo") {
  const prefix = z
    .string({ error: "expected text" })
    .max(MAX_PREFIX_LENGTH, { error: `expected at most ${MAX_PREFIX_LENGTH} characters` })
    .regex(crm === "hubspot" ? HUBSPOT_PREFIX : KLAVIYO_PREFIX, {
      error: crm === "hubspot"
        ? "expected a HubSpot name prefix: lower-case letters a-z, digits and _, starting with a letter (or empty)"
        : "expected a Klaviyo name prefix: letters, digits, _, - and . (or empty)",
    })
    .meta({ description: `Prefix of every property name that is not renamed one by one (default "${DEFAULT_PREFIX}").` });
  const common = {
    $comment: z.string().optional(),
    prefix: prefix.optional(),
    properties: propertiesSchema(crm).optional(),
    segments: segmentsSchema.meta({ description: "Segments made by `setup` and the sync-segments function in this CRM." }).optional(),
    toneSynonyms: toneSynonymsSchema.optional(),
  };
  if (crm === "klaviyo") return z.strictObject(common);
  const group = z
    .strictObject({
      name: z
        .string({ error: "expected a HubSpot group name" })
        .max(MAX_NAME_LENGTH, { error: `expected at most ${MAX_NAME_LENGTH} characters` })
        .regex(HUBSPOT_NAME, { error: "expected a HubSpot group name: lower-case letters a-z, digits and _, starting with a letter" }),
      label: z
        .string({ error: "expected the label people see, as text" })
        .trim()
        .min(1, { error: "expected a non-empty label" })
        .max(MAX_NAME_LENGTH, { error: `expected at most ${MAX_NAME_LENGTH} characters` }),
    })
    .meta({ description: 'The contact property group the properties are created in (default { "name": "fashionai", "label": "Fashion.AI" }).' });
  return z.strictObject({ ...common, group: group.optional() });
}

export const hubspotOverridesSchema = connectorSchema("hubspot").meta({ description: "HubSpot contact properties, group and lists." });
export const klaviyoOverridesSchema = connectorSchema("klaviyo").meta({ description: "Klaviyo profile properties and segments." });

/** The whole file. */
export const configFileSchema = z
  .strictObject({
    $schema: z.string().optional(),
    $comment: z.string().optional(),
    toneSynonyms: toneSynonymsSchema.optional(),
    segments: segmentsSchema.meta({ description: "Segment settings for both CRMs (a connector's own `segments` wins)." }).optional(),
    hubspot: hubspotOverridesSchema.optional(),
    klaviyo: klaviyoOverridesSchema.optional(),
  })
  .meta({
    title: "fashionai-sync mapping overrides",
    description:
      "Changes to the default CRM schema of fashionai-crm-sync (PRODUCT.md, README \"CRM schema\"). Every key is optional; " +
      "top-level toneSynonyms and segments apply to both CRMs, and a connector's own settings win.",
  });

export type ConfigFile = z.infer<typeof configFileSchema>;
export type ConnectorOverrides = z.infer<typeof hubspotOverridesSchema> | z.infer<typeof klaviyoOverridesSchema>;

/** The JSON Schema of the file, as shipped in fashionai-sync.config.schema.json. */
export function configJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(configFileSchema, { target: "draft-2020-12" }) as Record<string, unknown>;
}
