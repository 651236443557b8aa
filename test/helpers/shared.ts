import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** ../shared beside the checkout: the acceptance material. A fresh clone has none. */
export const SHARED_DIR = fileURLToPath(new URL("../../../shared", import.meta.url));
export const HAS_SHARED = existsSync(`${SHARED_DIR}/PRODUCT.md`);
export const SKIP_SHARED_REASON = `../shared (${SHARED_DIR}) is not beside this checkout: shared acceptance tests skipped`;

if (!HAS_SHARED) console.warn(SKIP_SHARED_REASON);
