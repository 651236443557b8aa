// The stand-ins must work with the vendors' own SDKs (the product's connectors use them over real HTTP).
import { Client } from "@hubspot/api-client";
import {
  ApiKeySession,
  EventEnum,
  EventsApi,
  MetricEnum,
  ProfileBulkImportJobEnum,
  ProfileEnum,
  ProfilesApi,
} from "klaviyo-api";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startSandbox, type Sandbox } from "../src/sandbox/index.js";

let sb: Sandbox;

beforeAll(async () => {
  sb = await startSandbox();
});
afterAll(async () => {
  await sb.close();
});
beforeEach(() => {
  sb.reset();
});

describe("HubSpot stand-in with @hubspot/api-client", () => {
  const client = () =>
    new Client({ accessToken: sb.env.HUBSPOT_ACCESS_TOKEN, basePath: sb.env.HUBSPOT_BASE_URL, numberOfApiCallRetries: 0 });

  it("creates the schema, upserts, reads and pages contacts", async () => {
    const hs = client();
    await hs.crm.properties.groupsApi.create("contacts", { name: "fashionai", label: "Fashion.AI" });
    const prop = await hs.crm.properties.coreApi.create("contacts", {
      name: "fashionai_tom_de_voz",
      label: "Tom de voz",
      type: "enumeration" as never,
      fieldType: "checkbox" as never,
      groupName: "fashionai",
      options: [{ label: "sereno", value: "sereno", hidden: false, displayOrder: 0 }],
    });
    expect(prop.name).toBe("fashionai_tom_de_voz");
    expect((await hs.crm.properties.coreApi.getByName("contacts", "fashionai_tom_de_voz")).options).toHaveLength(1);

    const up = await hs.crm.contacts.batchApi.upsert({
      inputs: [{ id: "sdk@example.com", idProperty: "email", properties: { fashionai_tom_de_voz: "sereno" } }],
    });
    expect(up.results[0]?._new).toBe(true);
    expect(up.results[0]?.createdAt).toBeInstanceOf(Date);

    const read = await hs.crm.contacts.batchApi.read({
      idProperty: "email",
      inputs: [{ id: "sdk@example.com" }],
      properties: ["fashionai_tom_de_voz"],
      propertiesWithHistory: [],
    });
    expect(read.results[0]?.properties.fashionai_tom_de_voz).toBe("sereno");

    const page = await hs.crm.contacts.basicApi.getPage(10, undefined, ["email", "fashionai_tom_de_voz"]);
    expect(page.results.map((c) => c.properties.email)).toEqual(["sdk@example.com"]);
  });

  it("surfaces HubSpot errors as ApiException with the vendor body", async () => {
    const hs = client();
    const err = await hs.crm.contacts.batchApi
      .upsert({ inputs: [{ id: "x@example.com", idProperty: "email", properties: { nope: "1" } }] })
      .catch((e: unknown) => e as { code: number; body: { category: string; message: string } });
    expect(err).toMatchObject({ code: 400, body: { category: "VALIDATION_ERROR" } });
    expect((err as { body: { message: string } }).body.message).toMatch(/PROPERTY_DOESNT_EXIST/);

    const bad = new Client({ accessToken: "wrong", basePath: sb.env.HUBSPOT_BASE_URL, numberOfApiCallRetries: 0 });
    await expect(bad.crm.properties.groupsApi.getAll("contacts")).rejects.toMatchObject({ code: 401 });
  });
});

describe("Klaviyo stand-in with klaviyo-api", () => {
  const apis = () => {
    const session = new ApiKeySession(sb.env.KLAVIYO_API_KEY);
    const profiles = new ProfilesApi(session);
    profiles.basePath = sb.env.KLAVIYO_BASE_URL;
    const events = new EventsApi(session);
    events.basePath = sb.env.KLAVIYO_BASE_URL;
    return { profiles, events };
  };

  it("imports profiles, filters and pages them, posts events and bulk jobs", async () => {
    const { profiles, events } = apis();
    const created = await profiles.createOrUpdateProfile({
      data: { type: ProfileEnum.Profile, attributes: { email: "sdk@example.com", properties: { fashionai_tom_de_voz: ["sereno"] } } },
    });
    expect(created.response.status).toBe(201);
    expect(created.body.data.id).toBeTruthy();
    const again = await profiles.createOrUpdateProfile({
      data: { type: ProfileEnum.Profile, attributes: { email: "sdk@example.com", properties: { b: true } } },
    });
    expect(again.response.status).toBe(200);
    expect(sb.klaviyo.profile("sdk@example.com")).toEqual({ fashionai_tom_de_voz: ["sereno"], b: true });

    const found = await profiles.getProfiles({ filter: 'equals(email,"sdk@example.com")' });
    expect(found.body.data).toHaveLength(1);

    for (let i = 0; i < 3; i++) sb.klaviyo.addProfile(`p${i}@example.com`);
    const first = await profiles.getProfiles({ pageSize: 2 });
    expect(first.body.data).toHaveLength(2);
    const second = await profiles.getProfiles({ pageSize: 2, pageCursor: first.body.links?.next });
    expect(second.body.data).toHaveLength(2);

    const ev = await events.createEvent({
      data: {
        type: EventEnum.Event,
        attributes: {
          properties: { resumo: "x" },
          uniqueId: "moment-1",
          metric: { data: { type: MetricEnum.Metric, attributes: { name: "Fashion.AI Novo Comportamento" } } },
          profile: { data: { type: ProfileEnum.Profile, attributes: { email: "sdk@example.com" } } },
        },
      },
    });
    expect(ev.response.status).toBe(202);
    expect(sb.klaviyo.events()).toMatchObject([{ uniqueId: "moment-1", metric: "Fashion.AI Novo Comportamento" }]);

    const job = await profiles.bulkImportProfiles({
      data: {
        type: ProfileBulkImportJobEnum.ProfileBulkImportJob,
        attributes: {
          profiles: {
            data: [
              { type: ProfileEnum.Profile, attributes: { email: "bulk@example.com", properties: { a: 1 } } },
              { type: ProfileEnum.Profile, attributes: { email: "nope" } },
            ],
          },
        },
      },
    });
    expect(job.response.status).toBe(202);
    const status = await profiles.getBulkImportProfilesJob(job.body.data.id);
    expect(status.body.data.attributes).toMatchObject({ status: "complete", completedCount: 1, failedCount: 1 });
    const errors = await profiles.getErrorsForBulkImportProfilesJob(job.body.data.id);
    expect(errors.body.data).toHaveLength(1);
  });

  it("surfaces Klaviyo errors through axios", async () => {
    const session = new ApiKeySession("wrong-key");
    const profiles = new ProfilesApi(session);
    profiles.basePath = sb.env.KLAVIYO_BASE_URL;
    await expect(profiles.getProfiles()).rejects.toMatchObject({ response: { status: 401 } });
  });
});
