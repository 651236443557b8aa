import { describe, expect, it } from "vitest";
import { lookupPath, normalizeEmail, normalizeIdentifier, parseLookupBy } from "../src/identifiers.js";

describe("normalizeIdentifier: email", () => {
  it("trims and lower-cases, keeping +tags", () => {
    expect(normalizeIdentifier("email", "  Cliente.Um+promo@Example.COM ")).toEqual({
      ok: true,
      value: "cliente.um+promo@example.com",
    });
  });

  it.each([
    ["a b@x.com", "whitespace inside"],
    ["a\tb@x.com", "whitespace inside"],
    ["ab@x\u00a0.com", "whitespace inside"],
    ["no-at.example.com", "no @"],
    ["a@b@c.com", "more than one @"],
    ["@example.com", "empty local part"],
    ["someone@", "empty domain"],
    ["   ", "empty"],
    ["", "empty"],
  ])("rejects %j (%s)", (raw, problem) => {
    const r = normalizeIdentifier("email", raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toContain(problem);
      expect(r.reason).toContain(`identifier ${JSON.stringify(raw)} is not a valid email`);
    }
  });

  it("gives the example reason from the brief", () => {
    expect(normalizeIdentifier("email", "a b@x")).toEqual({
      ok: false,
      reason: 'identifier "a b@x" is not a valid email: whitespace inside',
    });
  });

  it("rejects control characters and lone surrogates", () => {
    expect(normalizeIdentifier("email", "a\u0000b@x.com").ok).toBe(false);
    expect(normalizeIdentifier("email", "a\ud800b@x.com").ok).toBe(false);
  });

  it("shortens very long identifiers in the reason", () => {
    const r = normalizeIdentifier("email", `${"x".repeat(500)} @y`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.length).toBeLessThan(200);
  });
});

describe("normalizeEmail (CRM key)", () => {
  it("applies the same rule and names the field", () => {
    expect(normalizeEmail("Tel.Cliente@Example.com")).toEqual({ ok: true, value: "tel.cliente@example.com" });
    const r = normalizeEmail("not an email");
    expect(r).toEqual({ ok: false, reason: 'email "not an email" is not a valid email: whitespace inside' });
  });
});

describe("normalizeIdentifier: phone", () => {
  it("keeps digits only", () => {
    expect(normalizeIdentifier("phone", "+55 (11) 99999-8888")).toEqual({ ok: true, value: "5511999998888" });
    expect(normalizeIdentifier("phone", "+55 (11) 98765-4321")).toEqual({ ok: true, value: "5511987654321" });
  });

  it("accepts 8 and 15 digits, rejects 7 and 16", () => {
    expect(normalizeIdentifier("phone", "1234-5678")).toEqual({ ok: true, value: "12345678" });
    expect(normalizeIdentifier("phone", "123456789012345")).toEqual({ ok: true, value: "123456789012345" });
    const short = normalizeIdentifier("phone", "123-4567");
    expect(short).toEqual({
      ok: false,
      reason: 'identifier "123-4567" is not a valid phone: 7 digits, needs 8 to 15',
    });
    expect(normalizeIdentifier("phone", "1234567890123456").ok).toBe(false);
    expect(normalizeIdentifier("phone", "no digits").ok).toBe(false);
  });
});

describe("normalizeIdentifier: document", () => {
  it("keeps letters and digits only", () => {
    expect(normalizeIdentifier("document", "123.456.789-00")).toEqual({ ok: true, value: "12345678900" });
    expect(normalizeIdentifier("document", " AB-12/c ")).toEqual({ ok: true, value: "AB12c" });
  });

  it("keeps a decomposed accented letter as one letter", () => {
    expect(normalizeIdentifier("document", "Jose\u0301-1")).toEqual({ ok: true, value: "José1" });
  });

  it("rejects a document with nothing left", () => {
    const r = normalizeIdentifier("document", " .-/ ");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(/^identifier " \.-\/ " is not a valid document: /);
  });
});

describe("normalizeIdentifier: user-profile-id", () => {
  it("trims", () => {
    expect(normalizeIdentifier("user-profile-id", "  fp_7Q2K9M1A\n")).toEqual({ ok: true, value: "fp_7Q2K9M1A" });
  });

  it("rejects empty", () => {
    expect(normalizeIdentifier("user-profile-id", "   ")).toEqual({
      ok: false,
      reason: 'identifier "   " is not a valid user-profile-id: empty',
    });
  });
});

describe("parseLookupBy", () => {
  it("accepts the four kinds", () => {
    expect(parseLookupBy("email")).toBe("email");
    expect(parseLookupBy("phone")).toBe("phone");
    expect(parseLookupBy("document")).toBe("document");
    expect(parseLookupBy("user-profile-id")).toBe("user-profile-id");
    expect(parseLookupBy(" Phone ")).toBe("phone");
    expect(parseLookupBy("user_profile_id")).toBe("user-profile-id");
  });

  it("rejects anything else", () => {
    expect(parseLookupBy("cpf")).toBeUndefined();
    expect(parseLookupBy("")).toBeUndefined();
    expect(parseLookupBy("toString")).toBeUndefined();
  });
});

describe("lookupPath", () => {
  it("builds one percent-encoded segment", () => {
    expect(lookupPath("email", "a+b@example.com")).toBe("/protected/profile/email/a%2Bb%40example.com");
    expect(lookupPath("document", "a/b?c")).toBe("/protected/profile/document/a%2Fb%3Fc");
    expect(lookupPath("user-profile-id", "x #%y")).toBe("/protected/profile/user-profile-id/x%20%23%25y");
    expect(lookupPath("user-profile-id", "ação")).toBe("/protected/profile/user-profile-id/a%C3%A7%C3%A3o");
  });

  it("never lets a value act as a dot-segment", () => {
    expect(lookupPath("user-profile-id", "..")).toBe("/protected/profile/user-profile-id/%2E%2E");
    expect(lookupPath("user-profile-id", ".")).toBe("/protected/profile/user-profile-id/%2E");
    expect(lookupPath("user-profile-id", "a..b")).toBe("/protected/profile/user-profile-id/a..b");
  });

  it("does not throw on a lone surrogate", () => {
    expect(lookupPath("user-profile-id", "a\ud800")).toBe("/protected/profile/user-profile-id/a%EF%BF%BD");
  });
});
