// The lists v3 part of the HubSpot stand-in (../shared/specs/hubspot/lists-v3.json): create a list,
// fetch it by id or by name, search lists, replace a list's filters. Validation follows HubSpot's
// documented behaviour: list names are unique per portal, a DYNAMIC or SNAPSHOT list needs a filter
// branch whose root is an OR branch of AND branches, PROPERTY filters must name an existing property
// with an operation of the matching type, and enumeration values must be options of the property.
// Dynamic membership is evaluated on demand from the stored contacts (members()).

import type { Reply, RequestContext } from "./http.js";
import { hubspotError, type HubSpotContact, type HubSpotProperty } from "./hubspot.js";

export interface HubSpotList {
  listId: string;
  name: string;
  objectTypeId: string;
  processingType: "DYNAMIC" | "MANUAL" | "SNAPSHOT";
  processingStatus: string;
  listVersion: number;
  filterBranch?: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  filtersUpdatedAt: string;
  createdById: string;
  updatedById: string;
}

/** What the list store needs from the rest of the HubSpot stand-in. */
export interface ListStoreHost {
  property(name: string): HubSpotProperty | undefined;
  contacts(): HubSpotContact[];
}

type Route = (method: string, template: string, handler: (ctx: RequestContext) => Reply) => void;

const PROCESSING_TYPES = new Set(["DYNAMIC", "MANUAL", "SNAPSHOT"]);
const CONTACT_TYPES = new Set(["0-1"]);
const OPERATION_TYPES: Record<string, { propertyTypes: string[] | "any"; operators: string[] }> = {
  ENUMERATION: {
    propertyTypes: ["enumeration"],
    operators: ["IS_ANY_OF", "IS_NONE_OF", "IS_EXACTLY", "IS_NOT_EXACTLY", "CONTAINS_ALL", "DOES_NOT_CONTAIN_ALL",
      "HAS_EVER_BEEN_ANY_OF", "HAS_NEVER_BEEN_ANY_OF", "HAS_EVER_BEEN_EXACTLY", "HAS_NEVER_BEEN_EXACTLY",
      "HAS_EVER_CONTAINED_ALL", "HAS_NEVER_CONTAINED_ALL"],
  },
  BOOL: { propertyTypes: ["bool"], operators: ["IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "HAS_EVER_BEEN_EQUAL_TO", "HAS_NEVER_BEEN_EQUAL_TO"] },
  MULTISTRING: {
    propertyTypes: ["string", "phone_number"],
    operators: ["IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "CONTAINS_EXACTLY", "DOES_NOT_CONTAIN", "DOES_NOT_CONTAIN_EXACTLY", "STARTS_WITH", "ENDS_WITH"],
  },
  STRING: { propertyTypes: ["string", "phone_number"], operators: ["IS_EQUAL_TO", "IS_NOT_EQUAL_TO", "CONTAINS", "DOES_NOT_CONTAIN", "STARTS_WITH", "ENDS_WITH"] },
  ALL_PROPERTY: { propertyTypes: "any", operators: ["IS_KNOWN", "IS_UNKNOWN"] },
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const bad = (message: string, subCategory?: string): Reply =>
  hubspotError(400, message, "VALIDATION_ERROR", subCategory ? { subCategory } : {});

export class HubSpotListStore {
  private byId = new Map<string, HubSpotList>();
  private nextId = 1;

  constructor(private readonly host: ListStoreHost) {}

  register(route: Route): void {
    const L = "/crm/v3/lists";
    route("POST", L, (c) => this.create(c.body));
    route("POST", `${L}/search`, (c) => this.search(c.body));
    route("GET", `${L}/object-type-id/{objectTypeId}/name/{listName}`, (c) =>
      this.getByName(c.params.objectTypeId ?? "", c.params.listName ?? "", c.query.get("includeFilters") === "true"));
    route("GET", `${L}/{listId}`, (c) => this.getById(c.params.listId ?? "", c.query.get("includeFilters") === "true"));
    route("PUT", `${L}/{listId}/update-list-filters`, (c) => this.updateFilters(c.params.listId ?? "", c.body));
  }

  reset(): void {
    this.byId = new Map();
    this.nextId = 1;
  }

  // ------------------------------------------------------------------------------ inspectors

  all(): HubSpotList[] {
    return [...this.byId.values()].map((l) => structuredClone(l));
  }

  byName(name: string): HubSpotList | undefined {
    const l = this.find(name, "0-1");
    return l ? structuredClone(l) : undefined;
  }

  /** Seeds a list directly, skipping validation (e.g. one a marketer edited by hand). */
  add(list: Pick<HubSpotList, "name"> & Partial<HubSpotList>): HubSpotList {
    const at = new Date().toISOString();
    const l: HubSpotList = {
      listId: String(this.nextId++), objectTypeId: "0-1", processingType: "DYNAMIC", processingStatus: "COMPLETE",
      listVersion: 1, createdAt: at, updatedAt: at, filtersUpdatedAt: at, createdById: "1", updatedById: "1", ...list,
    };
    this.byId.set(l.listId, l);
    return structuredClone(l);
  }

  /** Emails of the contacts a DYNAMIC list holds right now (its filter evaluated on the stored contacts). */
  members(name: string): string[] {
    const l = this.find(name, "0-1");
    if (!l?.filterBranch) return [];
    return this.host.contacts().filter((c) => this.matchesBranch(c, l.filterBranch!)).map((c) => c.email).sort();
  }

  // ------------------------------------------------------------------------------ handlers

  private find(name: string, objectTypeId: string): HubSpotList | undefined {
    for (const l of this.byId.values()) if (l.name === name && l.objectTypeId === objectTypeId) return l;
    return undefined;
  }

  private view(l: HubSpotList, includeFilters: boolean) {
    const { filterBranch, ...rest } = l;
    const size = l.filterBranch ? this.members(l.name).length : 0;
    return { ...rest, size, ...(includeFilters && filterBranch ? { filterBranch: structuredClone(filterBranch) } : {}) };
  }

  private create(body: unknown): Reply {
    if (!isRecord(body)) return bad("Invalid input JSON: expected an object");
    const missing = ["name", "objectTypeId", "processingType"].filter((k) => typeof body[k] !== "string" || (body[k] as string).trim() === "");
    if (missing.length) return bad(`Some required fields were not set: [${missing.join(", ")}]`);
    const name = body.name as string;
    const objectTypeId = body.objectTypeId as string;
    const processingType = body.processingType as string;
    if (!CONTACT_TYPES.has(objectTypeId)) return bad(`Unsupported object type id: ${objectTypeId}`);
    if (!PROCESSING_TYPES.has(processingType)) return bad(`Invalid processingType ${processingType}: use DYNAMIC, MANUAL or SNAPSHOT`);
    if (name.length > 255) return bad("List name must be at most 255 characters");
    if (processingType === "MANUAL" && body.filterBranch !== undefined) return bad("MANUAL lists cannot have a filterBranch");
    if (processingType !== "MANUAL" && body.filterBranch === undefined) return bad(`${processingType} lists require a filterBranch`);
    if (body.filterBranch !== undefined) {
      const problem = this.checkRoot(body.filterBranch);
      if (problem) return bad(problem);
    }
    if (this.find(name, objectTypeId)) {
      return hubspotError(409, `A list named '${name}' already exists.`, "OBJECT_ALREADY_EXISTS", { subCategory: "ILS_LIST_NAME_ALREADY_EXISTS" });
    }
    const at = new Date().toISOString();
    const list: HubSpotList = {
      listId: String(this.nextId++), name, objectTypeId, processingType: processingType as HubSpotList["processingType"],
      processingStatus: "PROCESSING", listVersion: 1, createdAt: at, updatedAt: at, filtersUpdatedAt: at, createdById: "1", updatedById: "1",
      ...(isRecord(body.filterBranch) ? { filterBranch: this.normalise(body.filterBranch) } : {}),
    };
    this.byId.set(list.listId, list);
    const answer = this.view(list, true);
    list.processingStatus = "COMPLETE"; // processed "in the background" by the next read
    return { status: 200, body: { list: answer } };
  }

  private getByName(objectTypeId: string, name: string, includeFilters: boolean): Reply {
    const l = this.find(name, objectTypeId);
    if (!l) return hubspotError(404, `List with name ${name} does not exist for object type id ${objectTypeId}.`, "OBJECT_NOT_FOUND");
    return { status: 200, body: { list: this.view(l, includeFilters) } };
  }

  private getById(id: string, includeFilters: boolean): Reply {
    const l = this.byId.get(id);
    if (!l) return hubspotError(404, `List ${id} does not exist.`, "OBJECT_NOT_FOUND");
    return { status: 200, body: { list: this.view(l, includeFilters) } };
  }

  private search(body: unknown): Reply {
    if (!isRecord(body)) return bad("Invalid input JSON: expected an object");
    if (!Array.isArray(body.additionalProperties)) return bad("Some required fields were not set: [additionalProperties]");
    const offset = body.offset === undefined ? 0 : body.offset;
    const count = body.count === undefined ? 20 : body.count;
    if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) return bad("offset must be a non-negative integer");
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > 500) return bad("count must be between 1 and 500");
    const query = typeof body.query === "string" ? body.query.toLowerCase() : "";
    const types = Array.isArray(body.processingTypes) ? new Set(body.processingTypes) : undefined;
    const all = [...this.byId.values()]
      .filter((l) => l.name.toLowerCase().includes(query) && (!types || types.has(l.processingType)))
      .filter((l) => typeof body.objectTypeId !== "string" || l.objectTypeId === body.objectTypeId);
    const page = all.slice(offset, offset + count).map((l) => {
      const { filterBranch: _f, ...rest } = l;
      return { ...rest, additionalProperties: { hs_list_size: String(l.filterBranch ? this.members(l.name).length : 0) } };
    });
    return { status: 200, body: { lists: page, offset: offset + page.length, hasMore: offset + page.length < all.length, total: all.length } };
  }

  private updateFilters(id: string, body: unknown): Reply {
    const l = this.byId.get(id);
    if (!l) return hubspotError(404, `List ${id} does not exist.`, "OBJECT_NOT_FOUND");
    if (!isRecord(body) || body.filterBranch === undefined) return bad("Some required fields were not set: [filterBranch]");
    if (l.processingType === "MANUAL") return bad("MANUAL lists have no filters");
    const problem = this.checkRoot(body.filterBranch);
    if (problem) return bad(problem);
    const at = new Date().toISOString();
    l.filterBranch = this.normalise(body.filterBranch as Record<string, unknown>);
    l.listVersion += 1;
    l.updatedAt = at;
    l.filtersUpdatedAt = at;
    return { status: 200, body: { updatedList: this.view(l, true) } };
  }

  // ------------------------------------------------------------------------------ filters

  /** HubSpot answers with filterBranchOperator filled in and includeObjectsWithNoValueSet defaulted. */
  private normalise(branch: Record<string, unknown>): Record<string, unknown> {
    const type = branch.filterBranchType as string;
    return {
      filterBranchType: type,
      filterBranchOperator: typeof branch.filterBranchOperator === "string" ? branch.filterBranchOperator : type,
      filterBranches: (branch.filterBranches as Record<string, unknown>[]).map((b) => this.normalise(b)),
      filters: (branch.filters as Record<string, unknown>[]).map((f) => {
        const op = f.operation as Record<string, unknown>;
        return { ...f, operation: { includeObjectsWithNoValueSet: false, ...op } };
      }),
    };
  }

  private checkRoot(root: unknown): string | undefined {
    if (!isRecord(root)) return "filterBranch must be an object";
    if (root.filterBranchType !== "OR") return `The root filter branch must be of type OR, got ${String(root.filterBranchType)}`;
    if (!Array.isArray(root.filters) || root.filters.length > 0) return "The root OR filter branch must have an empty filters array";
    if (!Array.isArray(root.filterBranches)) return "filterBranches is required";
    for (const [i, child] of root.filterBranches.entries()) {
      if (!isRecord(child) || child.filterBranchType !== "AND") return `filterBranches[${i}]: children of the root OR branch must be AND branches`;
      const problem = this.checkBranch(child, `filterBranches[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }

  private checkBranch(branch: Record<string, unknown>, at: string): string | undefined {
    if (typeof branch.filterBranchOperator === "string" && branch.filterBranchOperator !== branch.filterBranchType) {
      return `${at}: filterBranchOperator ${branch.filterBranchOperator} does not match filterBranchType ${String(branch.filterBranchType)}`;
    }
    if (!Array.isArray(branch.filters)) return `${at}: filters is required`;
    if (!Array.isArray(branch.filterBranches)) return `${at}: filterBranches is required`;
    for (const [i, f] of branch.filters.entries()) {
      const problem = this.checkFilter(f, `${at}.filters[${i}]`);
      if (problem) return problem;
    }
    for (const [i, b] of branch.filterBranches.entries()) {
      if (!isRecord(b) || !["AND", "OR"].includes(String(b.filterBranchType))) return `${at}.filterBranches[${i}]: unsupported branch type`;
      const problem = this.checkBranch(b, `${at}.filterBranches[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }

  private checkFilter(f: unknown, at: string): string | undefined {
    if (!isRecord(f)) return `${at}: filter must be an object`;
    if (f.filterType !== "PROPERTY") return `${at}: only PROPERTY filters are supported by this stand-in (got ${String(f.filterType)})`;
    if (typeof f.property !== "string") return `${at}: property is required`;
    const prop = this.host.property(f.property);
    if (!prop || prop.archived) return `${at}: property ${f.property} does not exist on object type 0-1`;
    const op = f.operation;
    if (!isRecord(op)) return `${at}: operation is required`;
    const kind = OPERATION_TYPES[String(op.operationType)];
    if (!kind) return `${at}: unknown operationType ${String(op.operationType)}`;
    if (kind.propertyTypes !== "any" && !kind.propertyTypes.includes(prop.type)) {
      return `${at}: operationType ${String(op.operationType)} cannot be used on property ${prop.name} of type ${prop.type}`;
    }
    if (!kind.operators.includes(String(op.operator))) return `${at}: operator ${String(op.operator)} is not valid for ${String(op.operationType)}`;
    if (op.operationType === "BOOL" && typeof op.value !== "boolean") return `${at}: BOOL operations need a boolean value`;
    if (op.operationType === "ENUMERATION" || op.operationType === "MULTISTRING") {
      if (!Array.isArray(op.values) || op.values.length === 0 || op.values.some((v) => typeof v !== "string")) {
        return `${at}: ${String(op.operationType)} operations need a non-empty values array of strings`;
      }
      if (op.operationType === "ENUMERATION") {
        const allowed = new Set(prop.options.map((o) => o.value));
        const unknown = op.values.find((v) => !allowed.has(v as string));
        if (unknown !== undefined) return `${at}: ${String(unknown)} is not an option of property ${prop.name}`;
      }
    }
    return undefined;
  }

  private matchesBranch(c: HubSpotContact, branch: Record<string, unknown>): boolean {
    const filters = (branch.filters as Record<string, unknown>[]).map((f) => this.matchesFilter(c, f));
    const branches = (branch.filterBranches as Record<string, unknown>[]).map((b) => this.matchesBranch(c, b));
    const all = [...filters, ...branches];
    return branch.filterBranchType === "OR" ? all.some(Boolean) : all.length > 0 && all.every(Boolean);
  }

  private matchesFilter(c: HubSpotContact, f: Record<string, unknown>): boolean {
    const op = f.operation as Record<string, unknown>;
    const raw = c.properties[f.property as string];
    const known = raw !== undefined && raw !== "";
    if (!known) return op.includeObjectsWithNoValueSet === true || op.operator === "IS_UNKNOWN";
    const have = raw.split(";");
    const values = (op.values as string[] | undefined) ?? [];
    switch (`${String(op.operationType)} ${String(op.operator)}`) {
      case "ENUMERATION IS_ANY_OF": return have.some((v) => values.includes(v));
      case "ENUMERATION IS_NONE_OF": return !have.some((v) => values.includes(v));
      case "ENUMERATION CONTAINS_ALL": return values.every((v) => have.includes(v));
      case "ENUMERATION IS_EXACTLY": return have.length === values.length && values.every((v) => have.includes(v));
      case "BOOL IS_EQUAL_TO": return raw === String(op.value);
      case "BOOL IS_NOT_EQUAL_TO": return raw !== String(op.value);
      case "ALL_PROPERTY IS_KNOWN": return true;
      case "ALL_PROPERTY IS_UNKNOWN": return false;
      case "MULTISTRING IS_EQUAL_TO": return values.includes(raw);
      case "MULTISTRING CONTAINS": return values.some((v) => raw.includes(v));
      default: return false;
    }
  }
}
