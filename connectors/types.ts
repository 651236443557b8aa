import type { ParsedProfile } from "../src/profile/types.js";

/** An enumeration option as HubSpot stores it: `value` is the slug written, `label` what people see. */
export interface EnumOption {
  value: string;
  label: string;
}

export interface MappingContext {
  /** Time of the sync, written to fashionai_sincronizado_em. */
  syncedAt: Date;
}

export interface HubSpotMapping {
  /** Property name → string value, exactly as sent to HubSpot. Absent keys are not touched. */
  properties: Record<string, string>;
  /** Enumeration property name → the options this record needs (in order, deduplicated by value). */
  options: Record<string, EnumOption[]>;
  warnings: string[];
}

export type KlaviyoValue = string | string[] | boolean;

export interface KlaviyoEventPlan {
  metric: string;
  /** Deterministic: the same buying moment always gives the same id, so Klaviyo never records it twice. */
  uniqueId: string;
  properties: Record<string, unknown>;
}

export interface KlaviyoMapping {
  properties: Record<string, KlaviyoValue>;
  /** Present when the profile's novo_comportamento is true. */
  event?: KlaviyoEventPlan;
  warnings: string[];
}

export type MapToHubSpot = (profile: ParsedProfile, ctx: MappingContext) => HubSpotMapping;
export type MapToKlaviyo = (profile: ParsedProfile, ctx: MappingContext) => KlaviyoMapping;
