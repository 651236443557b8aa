// Local stand-ins of Fashion.AI, HubSpot and Klaviyo on loopback, for the demo and for tests.
//   const sb = await startSandbox({ profilesDir: OWN_PROFILES_DIR }); // src/cli/demo.ts: the project's own samples
//   run the product with sb.env (FASHIONAI_BASE_URL, HUBSPOT_BASE_URL, ...), then inspect
//   sb.hubspot.contact(email), sb.klaviyo.profile(email), sb.fashionai.lookups() ...
//   await sb.close();

import { fileURLToPath } from "node:url";
import { FashionAiSandbox, type FashionAiSandboxOptions } from "./fashionai.js";
import { HubSpotSandbox, type HubSpotSandboxOptions } from "./hubspot.js";
import { KlaviyoSandbox, type KlaviyoSandboxOptions } from "./klaviyo.js";

export * from "./http.js";
export * from "./fashionai.js";
export * from "./hubspot.js";
export * from "./klaviyo.js";

/** ../shared/fixtures/profiles (the ten sample profiles and their index.json), relative to the repo. */
export const SHARED_PROFILES_DIR = fileURLToPath(new URL("../../../shared/fixtures/profiles", import.meta.url));

export interface SandboxOptions {
  fashionai?: FashionAiSandboxOptions;
  hubspot?: HubSpotSandboxOptions;
  klaviyo?: KlaviyoSandboxOptions;
  /** Shortcut for fashionai.profilesDir: load an index.json directory of sample profiles. */
  profilesDir?: string;
}

/** The environment the product reads, pointing at the stand-ins. */
export interface SandboxEnv extends Record<string, string> {
  FASHIONAI_BASE_URL: string;
  FASHIONAI_APP_TOKEN: string;
  HUBSPOT_BASE_URL: string;
  HUBSPOT_ACCESS_TOKEN: string;
  KLAVIYO_BASE_URL: string;
  KLAVIYO_API_KEY: string;
}

export interface Sandbox {
  fashionai: FashionAiSandbox;
  hubspot: HubSpotSandbox;
  klaviyo: KlaviyoSandbox;
  env: SandboxEnv;
  /** reset() on all three stand-ins. */
  reset(): void;
  close(): Promise<void>;
}

export async function startSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const fashionaiOpts: FashionAiSandboxOptions = { ...opts.fashionai };
  if (opts.profilesDir !== undefined && fashionaiOpts.profilesDir === undefined) fashionaiOpts.profilesDir = opts.profilesDir;
  const fashionai = new FashionAiSandbox(fashionaiOpts);
  const hubspot = new HubSpotSandbox(opts.hubspot);
  const klaviyo = new KlaviyoSandbox(opts.klaviyo);
  const all = [fashionai, hubspot, klaviyo];
  try {
    await Promise.all(all.map((s) => s.start()));
  } catch (err) {
    await Promise.all(all.map((s) => s.close()));
    throw err;
  }
  const env: SandboxEnv = {
    FASHIONAI_BASE_URL: fashionai.baseUrl,
    FASHIONAI_APP_TOKEN: fashionai.token,
    HUBSPOT_BASE_URL: hubspot.baseUrl,
    HUBSPOT_ACCESS_TOKEN: hubspot.accessToken,
    KLAVIYO_BASE_URL: klaviyo.baseUrl,
    KLAVIYO_API_KEY: klaviyo.apiKey,
  };
  return {
    fashionai,
    hubspot,
    klaviyo,
    env,
    reset() {
      for (const s of all) s.reset();
    },
    async close() {
      await Promise.all(all.map((s) => s.close()));
    },
  };
}
