import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeFactories } from "../../../test/helpers/databases.js";
import { type ScimFixture, scimFixture } from "../../../test/helpers/scim-fixture.js";

const [[, sqlite]] = (await storeFactories()) as [[string, Parameters<typeof scimFixture>[0]]];

describe("the OpenAPI document with the SCIM server on", () => {
  let f: ScimFixture;
  beforeAll(async () => {
    f = await scimFixture(sqlite);
  });
  afterAll(() => f.dispose());

  it("describes every SCIM route the server registered, with its bearer auth, bodies and SCIM errors", async () => {
    const doc = (await f.app.inject({ url: "/api/openapi.json" })).json();
    const scim = f.app.routeCatalogue().filter((r) => r.url.startsWith("/scim/v2"));
    expect(scim.length).toBeGreaterThan(10);
    for (const route of scim) {
      const path = route.url.replace(/:([A-Za-z]+)/g, "{$1}");
      const op = doc.paths[path]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.url} is documented`).toBeDefined();
      expect(op.tags).toEqual(["SCIM"]);
      expect(op.security).toEqual([{ bearerAuth: [] }]);
      expect(op.summary).toBeTruthy();
      expect(JSON.stringify(op.responses["4XX"])).toContain("#/components/schemas/ScimError");
      expect(op.description).toContain(route.permission);
    }
    expect(doc.paths["/scim/v2/Users"].post.requestBody.content["application/scim+json"].schema).toEqual({
      $ref: "#/components/schemas/ScimUser",
    });
    expect(
      doc.paths["/scim/v2/Users/{id}"].patch.requestBody.content["application/scim+json"].schema,
    ).toEqual({
      $ref: "#/components/schemas/ScimPatchOp",
    });
    expect(doc.paths["/scim/v2/Users"].get.responses[200].content["application/scim+json"].schema).toEqual({
      $ref: "#/components/schemas/ScimListResponse",
    });
    // Every $ref resolves and every component is valid JSON Schema 2020-12.
    for (const ref of JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? []) {
      const name = ref.replace(/^"\$ref":"#\/components\/schemas\//, "").replace(/"$/, "");
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const [name, schema] of Object.entries(doc.components.schemas as Record<string, object>)) {
      expect(ajv.validateSchema({ ...schema, $defs: undefined }), name).toBe(true);
    }
  });
});
