// Every credential the process loads is registered here, and every line that leaves the process
// (logs, errors, CLI output) goes through `redact`, so a token can never be printed by accident —
// not even inside a vendor's error message that echoes it back.

const secrets = new Set<string>();

export function registerSecret(value: string | undefined): void {
  // Very short values would redact ordinary words; real tokens are long.
  if (value && value.length >= 6) secrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join("[redacted]");
  }
  // Bearer / API-key headers echoed back by a proxy, whatever token they carry.
  return out
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g, "$1[redacted]")
    .replace(/(Klaviyo-API-Key\s+)[A-Za-z0-9._~+/=-]{8,}/g, "$1[redacted]");
}

export function clearSecretsForTests(): void {
  secrets.clear();
}
