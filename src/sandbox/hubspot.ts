// Local stand-in of the HubSpot CRM v3 APIs the product uses: contact properties and property groups,
// contact batch upsert / batch read / list. Response shapes follow ../shared/specs/hubspot/*.json;
// validation follows HubSpot's documented behaviour (see VENDOR-LIMITS.md).

import {
  SandboxServer,
  correlationId,
  type RateLimitState,
  type Reply,
  type RequestContext,
  type SandboxServerOptions,
  type VendorStyle,
} from "./http.js";
import { searchContacts } from "./hubspot-search.js";
import { HubSpotListStore, type HubSpotList } from "./hubspot-lists.js";

export type { HubSpotList } from "./hubspot-lists.js";

export const DEFAULT_HUBSPOT_TOKEN = "sandbox-hubspot-token";
export const HUBSPOT_BATCH_LIMIT = 100;
export const HUBSPOT_LIST_LIMIT = 100;
export const HUBSPOT_MAX_STRING_LENGTH = 65_536;

export type HubSpotPropertyType = "string" | "enumeration" | "bool" | "datetime" | "date" | "number" | "phone_number";

/** Allowed fieldType for each property type. */
export const HUBSPOT_FIELD_TYPES: Readonly<Record<HubSpotPropertyType, readonly string[]>> = {
  string: ["text", "textarea"],
  enumeration: ["checkbox", "select", "radio"],
  bool: ["booleancheckbox"],
  datetime: ["date"],
  date: ["date"],
  number: ["number"],
  phone_number: ["phonenumber"],
};

export interface HubSpotOption {
  label: string;
  value: string;
  displayOrder: number;
  hidden: boolean;
  description?: string;
}

/** A contact property, in HubSpot's `Property` response shape. */
export interface HubSpotProperty {
  name: string;
  label: string;
  type: HubSpotPropertyType;
  fieldType: string;
  description: string;
  groupName: string;
  options: HubSpotOption[];
  displayOrder: number;
  calculated: boolean;
  externalOptions: boolean;
  hasUniqueValue: boolean;
  hidden: boolean;
  formField: boolean;
  hubspotDefined?: boolean;
  modificationMetadata: { archivable: boolean; readOnlyDefinition: boolean; readOnlyValue: boolean; readOnlyOptions?: boolean };
  dataSensitivity: "non_sensitive";
  createdAt: string;
  updatedAt: string;
  archived: boolean;
}

export interface HubSpotPropertyGroup {
  name: string;
  label: string;
  displayOrder: number;
  archived: boolean;
}

export interface HubSpotContact {
  /** Numeric string (also the `hs_object_id` property). */
  id: string;
  /** Lower-cased email. */
  email: string;
  /** Every stored property value (strings), including email, hs_object_id, createdate, lastmodifieddate. */
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

/** HubSpot's standard error body (`Error` in the specs) and batch error (`StandardError`). */
export interface HubSpotErrorBody {
  status: "error";
  message: string;
  correlationId: string;
  category: string;
  context?: Record<string, string[]>;
  [key: string]: unknown;
}

export interface HubSpotSandboxOptions extends SandboxServerOptions {
  /** Valid private-app token (default `sandbox-hubspot-token`). */
  accessToken?: string;
  /** Tokens that authenticate but lack the needed scopes: every call with them answers 403 MISSING_SCOPES. */
  missingScopes?: string[];
  /** Portal id shown in validation messages (default 24681357). */
  portalId?: number;
}

export interface HubSpotPropertyValidationError {
  isValid: false;
  message: string;
  error: string;
  name: string;
  localizedErrorMessage: string;
  portalId: number;
}

const JSON_TYPE = "application/json;charset=utf-8";
const OBJECT_TYPES = new Set(["contacts", "contact", "0-1"]);
const DEFAULT_READ_PROPERTIES = ["createdate", "email", "firstname", "hs_object_id", "lastmodifieddate", "lastname"];
const ALWAYS_READ = ["createdate", "hs_object_id", "lastmodifieddate"];
const NAME_RX = /^[a-z][a-z0-9_]*$/;
const EMAIL_RX = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const ISO_DATETIME_RX = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

const CATEGORY_BY_STATUS: Record<number, string> = {
  400: "VALIDATION_ERROR",
  401: "INVALID_AUTHENTICATION",
  403: "MISSING_SCOPES",
  404: "OBJECT_NOT_FOUND",
  405: "VALIDATION_ERROR",
  409: "OBJECT_ALREADY_EXISTS",
  413: "VALIDATION_ERROR",
  415: "VALIDATION_ERROR",
  429: "RATE_LIMITS",
};

export function hubspotError(status: number, message: string, category?: string, extra: Record<string, unknown> = {}): Reply {
  const body: HubSpotErrorBody = {
    status: "error",
    message,
    correlationId: correlationId(),
    category: category ?? CATEGORY_BY_STATUS[status] ?? (status >= 500 ? "INTERNAL_ERROR" : "VALIDATION_ERROR"),
    ...extra,
  };
  return { status, body };
}

function hubspotStyle(token: string, missingScopes: ReadonlySet<string>): VendorStyle {
  return {
    contentType: JSON_TYPE,
    retryAfterByDefault: false,
    error: (status, message, code) => hubspotError(status, message, code),
    authenticate(ctx: RequestContext) {
      const auth = ctx.headers.authorization;
      const m = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
      const given = m?.[1];
      if (given !== undefined && missingScopes.has(given)) {
        return hubspotError(
          403,
          "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: https://developers.hubspot.com/scopes.",
          "MISSING_SCOPES",
          {
            errors: [
              {
                message: "One or more of the following scopes are required.",
                context: { requiredGranularScopes: ["crm.objects.contacts.write", "crm.schemas.contacts.write"] },
              },
            ],
            links: { scopes: "https://developers.hubspot.com/scopes" },
          },
        );
      }
      if (given !== token) {
        return hubspotError(
          401,
          "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
          "INVALID_AUTHENTICATION",
        );
      }
      return undefined;
    },
    rateLimited(state: RateLimitState) {
      const policyName = state.spec.policyName ?? "TEN_SECONDLY_ROLLING";
      const message =
        policyName === "DAILY"
          ? "You have reached your daily limit."
          : policyName === "SECONDLY"
            ? "You have reached your secondly limit."
            : "You have reached your ten_secondly_rolling limit.";
      return {
        status: 429,
        body: { status: "error", message, errorType: "RATE_LIMIT", correlationId: correlationId(), policyName, category: "RATE_LIMITS" },
      };
    },
    rateLimitHeaders(state: RateLimitState): Record<string, string> {
      if (state.spec.policyName === "DAILY") {
        return {
          "X-HubSpot-RateLimit-Daily": String(state.spec.limit),
          "X-HubSpot-RateLimit-Daily-Remaining": String(state.remaining),
        };
      }
      return {
        "X-HubSpot-RateLimit-Interval-Milliseconds": String(state.spec.windowMs),
        "X-HubSpot-RateLimit-Max": String(state.spec.limit),
        "X-HubSpot-RateLimit-Remaining": String(state.remaining),
      };
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const nowIso = () => new Date().toISOString();

interface Problem {
  status: number;
  message: string;
  category?: string;
}

function builtInProperty(
  name: string,
  label: string,
  type: HubSpotPropertyType,
  fieldType: string,
  groupName: string,
  extra: Partial<HubSpotProperty> = {},
): HubSpotProperty {
  const at = "2019-08-06T02:41:08.180Z";
  return {
    name,
    label,
    type,
    fieldType,
    description: "",
    groupName,
    options: [],
    displayOrder: -1,
    calculated: false,
    externalOptions: false,
    hasUniqueValue: false,
    hidden: false,
    formField: true,
    hubspotDefined: true,
    modificationMetadata: { archivable: false, readOnlyDefinition: true, readOnlyValue: false },
    dataSensitivity: "non_sensitive",
    createdAt: at,
    updatedAt: at,
    archived: false,
    ...extra,
  };
}

function defaultGroups(): HubSpotPropertyGroup[] {
  return [
    { name: "contactinformation", label: "Contact information", displayOrder: 0, archived: false },
    { name: "emailinformation", label: "Email information", displayOrder: 1, archived: false },
    { name: "analyticsinformation", label: "Web analytics history", displayOrder: 2, archived: false },
  ];
}

function defaultProperties(): HubSpotProperty[] {
  const readOnly = { archivable: false, readOnlyDefinition: true, readOnlyValue: true };
  const stage = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer", "evangelist", "other"];
  return [
    builtInProperty("email", "Email", "string", "text", "contactinformation", { hasUniqueValue: false }),
    builtInProperty("firstname", "First Name", "string", "text", "contactinformation"),
    builtInProperty("lastname", "Last Name", "string", "text", "contactinformation"),
    builtInProperty("phone", "Phone Number", "string", "text", "contactinformation"),
    builtInProperty("company", "Company Name", "string", "text", "contactinformation"),
    builtInProperty("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation", {
      options: stage.map((value, i) => ({ label: value, value, displayOrder: i, hidden: false })),
    }),
    builtInProperty("createdate", "Create Date", "datetime", "date", "contactinformation", { formField: false }),
    builtInProperty("lastmodifieddate", "Last Modified Date", "datetime", "date", "contactinformation", {
      formField: false,
      modificationMetadata: readOnly,
    }),
    builtInProperty("hs_object_id", "Record ID", "number", "number", "contactinformation", {
      formField: false,
      modificationMetadata: readOnly,
    }),
  ];
}

export class HubSpotSandbox extends SandboxServer {
  readonly accessToken: string;
  readonly portalId: number;
  private groups = new Map<string, HubSpotPropertyGroup>();
  private props = new Map<string, HubSpotProperty>();
  private contactsByEmail = new Map<string, HubSpotContact>();
  private nextId = 1001;
  private readonly listStore = new HubSpotListStore({ property: (n) => this.props.get(n), contacts: () => this.contacts() });

  constructor(opts: HubSpotSandboxOptions = {}) {
    const token = opts.accessToken ?? DEFAULT_HUBSPOT_TOKEN;
    super(hubspotStyle(token, new Set(opts.missingScopes ?? [])), opts);
    this.accessToken = token;
    this.portalId = opts.portalId ?? 24681357;
    this.seed();

    const P = "/crm/v3/properties/{objectType}";
    this.route("GET", `${P}`, (c) => this.withObjectType(c, () => this.listProperties()));
    this.route("POST", `${P}`, (c) => this.withObjectType(c, () => this.createProperty(c.body)));
    this.route("POST", `${P}/batch/create`, (c) => this.withObjectType(c, () => this.batchCreateProperties(c.body)));
    this.route("GET", `${P}/groups`, (c) => this.withObjectType(c, () => this.listGroups()));
    this.route("POST", `${P}/groups`, (c) => this.withObjectType(c, () => this.createGroup(c.body)));
    this.route("GET", `${P}/groups/{groupName}`, (c) => this.withObjectType(c, () => this.getGroup(c.params.groupName ?? "")));
    this.route("GET", `${P}/{propertyName}`, (c) => this.withObjectType(c, () => this.getProperty(c.params.propertyName ?? "")));
    this.route("PATCH", `${P}/{propertyName}`, (c) =>
      this.withObjectType(c, () => this.updateProperty(c.params.propertyName ?? "", c.body)),
    );

    const C = "/crm/v3/objects/contacts";
    this.route("GET", C, (c) => this.listContacts(c));
    this.route("GET", `${C}/{contactId}`, (c) => this.getContact(c));
    this.route("POST", `${C}/batch/upsert`, (c) => this.batchUpsert(c.body));
    this.route("POST", `${C}/batch/read`, (c) => this.batchRead(c.body));
    this.route("POST", `${C}/search`, (c) =>
      searchContacts(c.body, this.contactsByEmail.values(), (x, req) => this.publicObject(x, req), (st, m, cat) => hubspotError(st, m, cat)),
    );

    this.listStore.register((method, template, handler) => this.route(method, template, handler));
  }

  // ------------------------------------------------------------------------------ inspectors

  /** The stored contact for an email (case-insensitive), or undefined. */
  contact(email: string): HubSpotContact | undefined {
    const c = this.contactsByEmail.get(email.trim().toLowerCase());
    return c ? structuredClone(c) : undefined;
  }

  contacts(): HubSpotContact[] {
    return [...this.contactsByEmail.values()].map((c) => structuredClone(c));
  }

  property(name: string): HubSpotProperty | undefined {
    const p = this.props.get(name);
    return p ? structuredClone(p) : undefined;
  }

  /** Every property, built-in ones included. */
  properties(): HubSpotProperty[] {
    return [...this.props.values()].map((p) => structuredClone(p));
  }

  group(name: string): HubSpotPropertyGroup | undefined {
    const g = this.groups.get(name);
    return g ? { ...g } : undefined;
  }

  groupsList(): HubSpotPropertyGroup[] {
    return [...this.groups.values()].map((g) => ({ ...g }));
  }

  /** Every list (lists v3), with its filters. */
  lists(): HubSpotList[] {
    return this.listStore.all();
  }

  /** The contact list with this exact name. */
  list(name: string): HubSpotList | undefined {
    return this.listStore.byName(name);
  }

  /** Emails of the contacts a list's filter selects now (DYNAMIC membership, evaluated on demand). */
  listMembers(name: string): string[] {
    return this.listStore.members(name);
  }

  /** Seeds a list directly, skipping validation (e.g. one edited by hand in HubSpot). */
  addList(list: Pick<HubSpotList, "name"> & Partial<HubSpotList>): HubSpotList {
    return this.listStore.add(list);
  }

  // ------------------------------------------------------------------------------ seeding

  /** Seeds a contact directly (no validation), e.g. for backfill tests. Returns the stored contact. */
  addContact(email: string, properties: Record<string, string> = {}): HubSpotContact {
    const c = this.writeContact(email.trim().toLowerCase(), properties);
    return structuredClone(c.contact);
  }

  /** Seeds a property directly, skipping validation (e.g. one with a conflicting type). */
  addProperty(p: Pick<HubSpotProperty, "name" | "type" | "fieldType"> & Partial<HubSpotProperty>): HubSpotProperty {
    const at = nowIso();
    const prop: HubSpotProperty = {
      label: p.name,
      description: "",
      groupName: "contactinformation",
      options: [],
      displayOrder: -1,
      calculated: false,
      externalOptions: false,
      hasUniqueValue: false,
      hidden: false,
      formField: false,
      modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
      dataSensitivity: "non_sensitive",
      createdAt: at,
      updatedAt: at,
      archived: false,
      ...p,
    };
    this.props.set(prop.name, prop);
    return structuredClone(prop);
  }

  addGroup(name: string, label = name): HubSpotPropertyGroup {
    const g = { name, label, displayOrder: -1, archived: false };
    this.groups.set(name, g);
    return { ...g };
  }

  /** Back to the started state: built-in properties and groups only, no contacts, no traffic. */
  override reset(): void {
    super.reset();
    this.seed();
  }

  private seed(): void {
    this.groups = new Map(defaultGroups().map((g) => [g.name, g]));
    this.props = new Map(defaultProperties().map((p) => [p.name, p]));
    this.contactsByEmail = new Map();
    this.nextId = 1001;
    this.listStore?.reset();
  }

  // ------------------------------------------------------------------------------ properties

  private withObjectType(ctx: RequestContext, fn: () => Reply): Reply {
    const t = ctx.params.objectType ?? "";
    if (!OBJECT_TYPES.has(t)) {
      return hubspotError(400, `Unable to infer object type from: ${t}`, "VALIDATION_ERROR");
    }
    return fn();
  }

  private listProperties(): Reply {
    return { status: 200, body: { results: [...this.props.values()].filter((p) => !p.archived) } };
  }

  private getProperty(name: string): Reply {
    const p = this.props.get(name);
    if (!p || p.archived) return hubspotError(404, `Unable to find property named ${name} for object type 0-1`, "OBJECT_NOT_FOUND");
    return { status: 200, body: p };
  }

  private createProperty(input: unknown): Reply {
    const result = this.validateAndCreate(input);
    if ("problem" in result) return hubspotError(result.problem.status, result.problem.message, result.problem.category);
    return { status: 201, body: result.property };
  }

  private batchCreateProperties(body: unknown): Reply {
    if (!isRecord(body) || !Array.isArray(body.inputs)) return hubspotError(400, "Invalid input JSON: inputs is required");
    const startedAt = nowIso();
    const results: HubSpotProperty[] = [];
    const errors: unknown[] = [];
    for (const input of body.inputs) {
      const r = this.validateAndCreate(input);
      if ("property" in r) results.push(r.property);
      else {
        const name = isRecord(input) && typeof input.name === "string" ? input.name : "";
        errors.push({
          status: "error",
          category: r.problem.category ?? CATEGORY_BY_STATUS[r.problem.status] ?? "VALIDATION_ERROR",
          message: r.problem.message,
          context: { name: [name] },
          errors: [],
          links: {},
        });
      }
    }
    const base = { status: "COMPLETE", results, startedAt, completedAt: nowIso() };
    if (errors.length === 0) return { status: 201, body: base };
    return { status: 207, body: { ...base, numErrors: errors.length, errors } };
  }

  private validateOptions(type: HubSpotPropertyType, raw: unknown): { options: HubSpotOption[] } | { problem: Problem } {
    if (raw === undefined) raw = [];
    if (!Array.isArray(raw)) return { problem: { status: 400, message: "options must be an array" } };
    const options: HubSpotOption[] = [];
    const seen = new Set<string>();
    for (const [i, o] of raw.entries()) {
      if (!isRecord(o) || typeof o.label !== "string" || typeof o.value !== "string") {
        return { problem: { status: 400, message: `Option ${i} needs a string label and value` } };
      }
      if (o.label.trim() === "" || o.value.trim() === "") {
        return { problem: { status: 400, message: `Option ${i} has an empty label or value` } };
      }
      if (seen.has(o.value)) return { problem: { status: 400, message: `Duplicate option value: ${o.value}` } };
      seen.add(o.value);
      const opt: HubSpotOption = {
        label: o.label,
        value: o.value,
        displayOrder: typeof o.displayOrder === "number" ? o.displayOrder : i,
        hidden: o.hidden === true,
      };
      if (typeof o.description === "string") opt.description = o.description;
      options.push(opt);
    }
    if (type === "bool") {
      const values = options.map((o) => o.value).sort();
      if (values.length !== 2 || values[0] !== "false" || values[1] !== "true") {
        return {
          problem: {
            status: 400,
            message: 'Boolean properties (fieldType booleancheckbox) need exactly two options with values "true" and "false"',
          },
        };
      }
    }
    return { options: type === "enumeration" || type === "bool" ? options : [] };
  }

  private checkTypes(type: unknown, fieldType: unknown): Problem | undefined {
    if (typeof type !== "string" || !(type in HUBSPOT_FIELD_TYPES)) {
      return { status: 400, message: `Invalid property type: ${String(type)}. Allowed: ${Object.keys(HUBSPOT_FIELD_TYPES).join(", ")}` };
    }
    const allowed = HUBSPOT_FIELD_TYPES[type as HubSpotPropertyType];
    if (typeof fieldType !== "string" || !allowed.includes(fieldType)) {
      return {
        status: 400,
        message: `Invalid fieldType ${String(fieldType)} for property type ${type}; allowed: ${allowed.join(", ")}`,
      };
    }
    return undefined;
  }

  private validateAndCreate(input: unknown): { property: HubSpotProperty } | { problem: Problem } {
    if (!isRecord(input)) return { problem: { status: 400, message: "Invalid input JSON: expected a property object" } };
    const missing = ["name", "label", "type", "fieldType", "groupName"].filter(
      (k) => typeof input[k] !== "string" || (input[k] as string).trim() === "",
    );
    if (missing.length > 0) return { problem: { status: 400, message: `Some required fields were not set: [${missing.join(", ")}]` } };
    const name = input.name as string;
    if (!NAME_RX.test(name) || name.length > 100) {
      return {
        problem: {
          status: 400,
          message: `Property name ${name} is invalid: use lowercase letters, digits and underscores, starting with a letter`,
        },
      };
    }
    if (this.props.has(name)) {
      return { problem: { status: 409, message: `Property named '${name}' already exists.`, category: "OBJECT_ALREADY_EXISTS" } };
    }
    const typeProblem = this.checkTypes(input.type, input.fieldType);
    if (typeProblem) return { problem: typeProblem };
    const type = input.type as HubSpotPropertyType;
    const groupName = input.groupName as string;
    if (!this.groups.has(groupName)) {
      return { problem: { status: 400, message: `Unable to find property group named ${groupName} for object type 0-1` } };
    }
    const opts = this.validateOptions(type, input.options);
    if ("problem" in opts) return opts;
    const at = nowIso();
    const property: HubSpotProperty = {
      name,
      label: input.label as string,
      type,
      fieldType: input.fieldType as string,
      description: typeof input.description === "string" ? input.description : "",
      groupName,
      options: opts.options,
      displayOrder: typeof input.displayOrder === "number" ? input.displayOrder : -1,
      calculated: false,
      externalOptions: false,
      hasUniqueValue: input.hasUniqueValue === true,
      hidden: input.hidden === true,
      formField: input.formField === true,
      modificationMetadata: { archivable: true, readOnlyDefinition: false, readOnlyValue: false },
      dataSensitivity: "non_sensitive",
      createdAt: at,
      updatedAt: at,
      archived: false,
    };
    this.props.set(name, property);
    return { property };
  }

  private updateProperty(name: string, input: unknown): Reply {
    const p = this.props.get(name);
    if (!p || p.archived) return hubspotError(404, `Unable to find property named ${name} for object type 0-1`, "OBJECT_NOT_FOUND");
    if (!isRecord(input)) return hubspotError(400, "Invalid input JSON: expected an object");
    const type = input.type ?? p.type;
    const fieldType = input.fieldType ?? p.fieldType;
    if (input.type !== undefined || input.fieldType !== undefined) {
      if (p.hubspotDefined && (type !== p.type || fieldType !== p.fieldType)) {
        return hubspotError(400, `Property ${name} is a HubSpot default property; its type cannot be changed`);
      }
      const problem = this.checkTypes(type, fieldType);
      if (problem) return hubspotError(problem.status, problem.message, problem.category);
    }
    if (input.groupName !== undefined && (typeof input.groupName !== "string" || !this.groups.has(input.groupName))) {
      return hubspotError(400, `Unable to find property group named ${String(input.groupName)} for object type 0-1`);
    }
    let options = p.options;
    if (input.options !== undefined || type !== p.type) {
      const r = this.validateOptions(type as HubSpotPropertyType, input.options ?? p.options);
      if ("problem" in r) return hubspotError(r.problem.status, r.problem.message, r.problem.category);
      options = r.options;
    }
    const next: HubSpotProperty = {
      ...p,
      type: type as HubSpotPropertyType,
      fieldType: fieldType as string,
      options,
      updatedAt: nowIso(),
    };
    if (typeof input.label === "string") next.label = input.label;
    if (typeof input.description === "string") next.description = input.description;
    if (typeof input.groupName === "string") next.groupName = input.groupName;
    if (typeof input.displayOrder === "number") next.displayOrder = input.displayOrder;
    if (typeof input.hidden === "boolean") next.hidden = input.hidden;
    if (typeof input.formField === "boolean") next.formField = input.formField;
    this.props.set(name, next);
    return { status: 200, body: next };
  }

  private listGroups(): Reply {
    return { status: 200, body: { results: [...this.groups.values()].filter((g) => !g.archived) } };
  }

  private getGroup(name: string): Reply {
    const g = this.groups.get(name);
    if (!g || g.archived) return hubspotError(404, `Unable to find property group named ${name} for object type 0-1`, "OBJECT_NOT_FOUND");
    return { status: 200, body: g };
  }

  private createGroup(input: unknown): Reply {
    if (!isRecord(input)) return hubspotError(400, "Invalid input JSON: expected an object");
    const missing = ["name", "label"].filter((k) => typeof input[k] !== "string" || (input[k] as string).trim() === "");
    if (missing.length > 0) return hubspotError(400, `Some required fields were not set: [${missing.join(", ")}]`);
    const name = input.name as string;
    if (!NAME_RX.test(name)) {
      return hubspotError(400, `Property group name ${name} is invalid: use lowercase letters, digits and underscores`);
    }
    if (this.groups.has(name)) {
      return hubspotError(409, `Property group named '${name}' already exists.`, "OBJECT_ALREADY_EXISTS");
    }
    const g: HubSpotPropertyGroup = {
      name,
      label: input.label as string,
      displayOrder: typeof input.displayOrder === "number" ? input.displayOrder : -1,
      archived: false,
    };
    this.groups.set(name, g);
    return { status: 201, body: g };
  }

  // ------------------------------------------------------------------------------ contacts

  private validationErrors(errors: HubSpotPropertyValidationError[]): Reply {
    return hubspotError(400, `Property values were not valid: ${JSON.stringify(errors)}`, "VALIDATION_ERROR");
  }

  private valueError(name: string, error: string, message: string): HubSpotPropertyValidationError {
    return { isValid: false, message, error, name, localizedErrorMessage: message, portalId: this.portalId };
  }

  /** Validates one property value; returns the value to store ("" clears) or an error. */
  private checkValue(name: string, value: string): { value: string } | { error: HubSpotPropertyValidationError } {
    const p = this.props.get(name);
    if (!p || p.archived) return { error: this.valueError(name, "PROPERTY_DOESNT_EXIST", `Property "${name}" does not exist`) };
    if (p.modificationMetadata.readOnlyValue) {
      return { error: this.valueError(name, "READ_ONLY_VALUE", `Property "${name}" is read-only`) };
    }
    if (value === "") return { value };
    switch (p.type) {
      case "enumeration": {
        const allowed = new Set(p.options.map((o) => o.value));
        const parts = p.fieldType === "checkbox" ? value.split(";").filter((v) => v !== "") : [value];
        const bad = parts.find((v) => !allowed.has(v));
        if (bad !== undefined) {
          return {
            error: this.valueError(
              name,
              "INVALID_OPTION",
              `${bad} was not one of the allowed options: [${p.options.map((o) => o.value).join(", ")}]`,
            ),
          };
        }
        return { value };
      }
      case "bool":
        if (value !== "true" && value !== "false") {
          return { error: this.valueError(name, "INVALID_BOOLEAN", `${value} is not a valid boolean value; use true or false`) };
        }
        return { value };
      case "datetime": {
        if (/^-?\d+$/.test(value)) return { value: new Date(Number(value)).toISOString() };
        if (ISO_DATETIME_RX.test(value) && !Number.isNaN(Date.parse(value))) return { value: new Date(value).toISOString() };
        return {
          error: this.valueError(name, "INVALID_DATETIME", `${value} is not a valid datetime: use ISO 8601 or epoch milliseconds`),
        };
      }
      case "date": {
        const ms = /^-?\d+$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
        if (Number.isNaN(ms) || ms % 86_400_000 !== 0) {
          return {
            error: this.valueError(name, "INVALID_DATE", `${value} is not a valid date: use YYYY-MM-DD or epoch milliseconds at midnight UTC`),
          };
        }
        return { value: new Date(ms).toISOString().slice(0, 10) };
      }
      case "number":
        if (!/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value)) {
          return { error: this.valueError(name, "INVALID_NUMBER", `${value} is not a valid number`) };
        }
        return { value };
      default:
        if (value.length > HUBSPOT_MAX_STRING_LENGTH) {
          return {
            error: this.valueError(
              name,
              "VALUE_TOO_LONG",
              `Property "${name}" value is ${value.length} characters long; the maximum is ${HUBSPOT_MAX_STRING_LENGTH}`,
            ),
          };
        }
        return { value };
    }
  }

  private writeContact(email: string, values: Record<string, string>): { contact: HubSpotContact; created: boolean } {
    const at = nowIso();
    let contact = this.contactsByEmail.get(email);
    const created = contact === undefined;
    if (!contact) {
      const id = String(this.nextId++);
      contact = { id, email, properties: { createdate: at, hs_object_id: id }, createdAt: at, updatedAt: at };
      this.contactsByEmail.set(email, contact);
    }
    for (const [k, v] of Object.entries(values)) {
      if (v === "") delete contact.properties[k];
      else contact.properties[k] = v;
    }
    contact.properties.email = email;
    contact.properties.lastmodifieddate = at;
    contact.updatedAt = at;
    return { contact, created };
  }

  private batchUpsert(body: unknown): Reply {
    if (!isRecord(body) || !Array.isArray(body.inputs)) {
      return hubspotError(400, "Invalid input JSON on line 1: inputs is required and must be an array");
    }
    const inputs = body.inputs as unknown[];
    if (inputs.length > HUBSPOT_BATCH_LIMIT) {
      return hubspotError(
        400,
        `The maximum number of inputs supported in a batch request is ${HUBSPOT_BATCH_LIMIT}; got ${inputs.length}. Please reduce the number of items and try again`,
        "VALIDATION_ERROR",
        { context: { inputs: [String(inputs.length)] } },
      );
    }
    const parsed: { id: string; properties: Record<string, string> }[] = [];
    for (const [i, input] of inputs.entries()) {
      if (!isRecord(input) || typeof input.id !== "string" || input.id === "") {
        return hubspotError(400, `Invalid input JSON: inputs[${i}].id is required and must be a string`);
      }
      if (input.idProperty === undefined) {
        return hubspotError(400, `inputs[${i}]: idProperty is required for upsert (use "email")`);
      }
      if (input.idProperty !== "email") {
        return hubspotError(
          400,
          `Unable to perform update/upsert by non-unique 0-1 property ${String(input.idProperty)} in portal ID ${this.portalId}`,
        );
      }
      if (!isRecord(input.properties)) {
        return hubspotError(400, `Invalid input JSON: inputs[${i}].properties is required and must be an object`);
      }
      const props: Record<string, string> = {};
      for (const [k, v] of Object.entries(input.properties)) {
        if (typeof v !== "string") {
          return hubspotError(
            400,
            `Invalid input JSON: inputs[${i}].properties.${k} must be a string (got ${v === null ? "null" : typeof v})`,
          );
        }
        props[k] = v;
      }
      parsed.push({ id: input.id, properties: props });
    }

    const seen = new Map<string, string>();
    const dupes: string[] = [];
    for (const { id } of parsed) {
      const k = id.trim().toLowerCase();
      if (seen.has(k) && !dupes.includes(id)) dupes.push(id);
      seen.set(k, id);
    }
    if (dupes.length > 0) {
      return hubspotError(400, `Duplicate IDs found in batch input: [${dupes.join(", ")}]. IDs must be unique`, "VALIDATION_ERROR", {
        context: { ids: dupes },
      });
    }

    const problems: HubSpotPropertyValidationError[] = [];
    const cleaned: { id: string; values: Record<string, string>; sent: Record<string, string> }[] = [];
    for (const { id, properties } of parsed) {
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(properties)) {
        if (k === "email") continue; // the id is the email
        const r = this.checkValue(k, v);
        if ("error" in r) {
          if (!problems.some((p) => p.name === r.error.name && p.message === r.error.message)) problems.push(r.error);
        } else values[k] = r.value;
      }
      cleaned.push({ id, values, sent: properties });
    }
    if (problems.length > 0) return this.validationErrors(problems);

    const startedAt = nowIso();
    const results: unknown[] = [];
    const errors: unknown[] = [];
    for (const { id, values, sent } of cleaned) {
      const email = id.trim().toLowerCase();
      if (!EMAIL_RX.test(email)) {
        errors.push({
          status: "error",
          category: "VALIDATION_ERROR",
          message: `Property values were not valid: ${JSON.stringify([this.valueError("email", "INVALID_EMAIL", `Email address ${id} is invalid`)])}`,
          context: { ids: [id] },
          errors: [],
          links: {},
        });
        continue;
      }
      const { contact, created } = this.writeContact(email, values);
      const properties: Record<string, string> = {};
      for (const k of Object.keys(sent)) if (k !== "email") properties[k] = values[k] ?? "";
      for (const k of ["email", ...ALWAYS_READ]) {
        const v = contact.properties[k];
        if (v !== undefined) properties[k] = v;
      }
      results.push({
        id: contact.id,
        properties,
        createdAt: contact.createdAt,
        updatedAt: contact.updatedAt,
        archived: false,
        new: created,
      });
    }
    const base = { status: "COMPLETE", results, startedAt, completedAt: nowIso() };
    if (errors.length === 0) return { status: 200, body: base };
    return { status: 207, body: { ...base, numErrors: errors.length, errors } };
  }

  private readProperties(contact: HubSpotContact, requested: readonly string[] | undefined): Record<string, string | null> {
    const names = requested && requested.length > 0 ? [...requested, ...ALWAYS_READ] : DEFAULT_READ_PROPERTIES;
    const out: Record<string, string | null> = {};
    for (const n of names) {
      if (!this.props.has(n)) continue; // unknown names are ignored on reads
      out[n] = contact.properties[n] ?? null;
    }
    return out;
  }

  private publicObject(contact: HubSpotContact, requested: readonly string[] | undefined) {
    return {
      id: contact.id,
      properties: this.readProperties(contact, requested),
      createdAt: contact.createdAt,
      updatedAt: contact.updatedAt,
      archived: false,
    };
  }

  private findContact(id: string, idProperty: string | undefined): HubSpotContact | undefined {
    if (idProperty === "email") return this.contactsByEmail.get(id.trim().toLowerCase());
    for (const c of this.contactsByEmail.values()) if (c.id === id) return c;
    return undefined;
  }

  private batchRead(body: unknown): Reply {
    if (!isRecord(body) || !Array.isArray(body.inputs)) return hubspotError(400, "Invalid input JSON: inputs is required");
    const inputs = body.inputs as unknown[];
    if (inputs.length > HUBSPOT_BATCH_LIMIT) {
      return hubspotError(
        400,
        `The maximum number of inputs supported in a batch request is ${HUBSPOT_BATCH_LIMIT}; got ${inputs.length}. Please reduce the number of items and try again`,
      );
    }
    const idProperty = body.idProperty;
    if (idProperty !== undefined && idProperty !== "email" && idProperty !== "hs_object_id") {
      return hubspotError(400, `Unable to perform read by non-unique 0-1 property ${String(idProperty)} in portal ID ${this.portalId}`);
    }
    const requested = Array.isArray(body.properties) ? body.properties.filter((p): p is string => typeof p === "string") : undefined;
    const startedAt = nowIso();
    const results: unknown[] = [];
    const missing: string[] = [];
    for (const [i, input] of inputs.entries()) {
      if (!isRecord(input) || typeof input.id !== "string") return hubspotError(400, `Invalid input JSON: inputs[${i}].id is required`);
      const c = this.findContact(input.id, idProperty === "email" ? "email" : undefined);
      if (c) results.push(this.publicObject(c, requested));
      else missing.push(input.id);
    }
    const base = { status: "COMPLETE", results, startedAt, completedAt: nowIso() };
    if (missing.length === 0) return { status: 200, body: base };
    return {
      status: 207,
      body: {
        ...base,
        numErrors: 1,
        errors: [
          {
            status: "error",
            category: "OBJECT_NOT_FOUND",
            message: "Could not get some CONTACT objects, they may be deleted or not exist. Check that ids are valid.",
            context: { ids: missing },
            errors: [],
            links: {},
          },
        ],
      },
    };
  }

  private requestedProperties(q: URLSearchParams): string[] | undefined {
    const all = q.getAll("properties").flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
    return all.length > 0 ? all : undefined;
  }

  private listContacts(ctx: RequestContext): Reply {
    const limitRaw = ctx.query.get("limit");
    const limit = limitRaw === null ? 10 : Number(limitRaw);
    if (!Number.isInteger(limit) || limit < 1) return hubspotError(400, `limit must be a positive integer (got ${limitRaw})`);
    if (limit > HUBSPOT_LIST_LIMIT) return hubspotError(400, `limit must be at most ${HUBSPOT_LIST_LIMIT} (got ${limit})`);
    const afterRaw = ctx.query.get("after");
    let after = 0;
    if (afterRaw !== null && afterRaw !== "") {
      if (!/^\d+$/.test(afterRaw)) return hubspotError(400, `Invalid after cursor: ${afterRaw}`);
      after = Number(afterRaw);
    }
    const requested = this.requestedProperties(ctx.query);
    const sorted = [...this.contactsByEmail.values()].sort((a, b) => Number(a.id) - Number(b.id));
    const page = sorted.filter((c) => Number(c.id) >= after);
    const results = page.slice(0, limit).map((c) => this.publicObject(c, requested));
    const next = page[limit];
    const body: Record<string, unknown> = { results };
    if (next) {
      const link = new URL(ctx.path, ctx.origin);
      for (const [k, v] of ctx.query) if (k !== "after") link.searchParams.append(k, v);
      link.searchParams.set("after", next.id);
      body.paging = { next: { after: next.id, link: link.toString() } };
    }
    return { status: 200, body };
  }

  private getContact(ctx: RequestContext): Reply {
    const idProperty = ctx.query.get("idProperty") ?? undefined;
    const c = this.findContact(ctx.params.contactId ?? "", idProperty === "email" ? "email" : undefined);
    if (!c) return { status: 404, bodyText: "" };
    return { status: 200, body: this.publicObject(c, this.requestedProperties(ctx.query)) };
  }
}

export async function startHubSpotSandbox(opts: HubSpotSandboxOptions = {}): Promise<HubSpotSandbox> {
  return new HubSpotSandbox(opts).start();
}
