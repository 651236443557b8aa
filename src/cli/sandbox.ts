import { startSandbox } from "../sandbox/index.js";
import { UsageError, parse } from "./args.js";
import { OWN_PROFILES_DIR } from "./demo.js";
import type { CommandIo } from "./sync.js";

/**
 * Keeps the three stand-ins running so a user can try every command (sync, setup, backfill, doctor)
 * by hand without any real credential: it prints the environment to paste into another terminal.
 */
export async function sandboxCommand(argv: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parse(argv, { profiles: { type: "string" }, port: { type: "string" } }, "sandbox");
  if (positionals.length) throw new UsageError(`sandbox: unexpected argument "${positionals[0]}"`);
  const base = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(base) || base < 0 || base > 65533) throw new UsageError("--port must be a port number (it uses N, N+1 and N+2)");
  const port = (offset: number) => (base === 0 ? 0 : base + offset);
  const sandbox = await startSandbox({
    profilesDir: values.profiles ?? OWN_PROFILES_DIR,
    fashionai: { port: port(0) },
    hubspot: { port: port(1) },
    klaviyo: { port: port(2) },
  });
  const rows = sandbox.fashionai.loadProfilesFromDir(values.profiles ?? OWN_PROFILES_DIR);
  const emails = rows.map((r) => r.email).filter(Boolean);
  const first = rows[0];
  io.stdout("Sandbox APIs are running (Ctrl-C to stop). In another terminal:\n\n");
  for (const [k, v] of Object.entries(sandbox.env)) io.stdout(`export ${k}=${v}\n`);
  io.stdout(`\nnpm run cli -- sync ${emails.slice(0, 2).join(" ")}\nnpm run cli -- setup\nnpm run cli -- doctor\n`);
  if (first?.phone && first.email) io.stdout(`npm run cli -- sync ${first.phone} --by phone --email ${first.email}\n`);
  if (first?.document && first.email) io.stdout(`npm run cli -- sync ${first.document} --by document --email ${first.email} --dry-run\n`);
  io.stdout(`\nSample profiles (emails; phones and documents in ${values.profiles ?? OWN_PROFILES_DIR}/index.json):\n  ${emails.join("\n  ")}\n`);
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await sandbox.close();
  return 0;
}
