import { describe, expect, it } from "vitest";
import { applyScimPatch, patchDeactivates } from "./scim-patch-apply.js";
import { type Json, shapeResource } from "./scim-resource-shape.js";
import { GROUP_RESOURCE, PATCH_OP_SCHEMA, USER_RESOURCE } from "./scim-server-schemas.js";

const ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const user = (): Json =>
  shapeResource(
    {
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: "ada",
      active: true,
      name: { givenName: "Ada", familyName: "Lovelace" },
      emails: [{ value: "ada@example.test", type: "work", primary: true }],
      [ENT]: { department: "Engineering", manager: { value: "m1" } },
    },
    USER_RESOURCE,
  ).resource;

const group = (): Json =>
  shapeResource(
    { displayName: "Sales", members: [{ value: "u1", display: "Ada" }, { value: "u2" }] },
    GROUP_RESOURCE,
  ).resource;

const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations });

/** Patches, then checks the result as the service does. */
function patched(resource: Json, body: unknown, type = USER_RESOURCE): Json {
  return shapeResource(applyScimPatch(resource, body, type), type).resource;
}

describe("SCIM PATCH as Entra ID sends it", () => {
  it("replaces with a capitalised op and a boolean written as a string", () => {
    const out = patched(user(), patch({ op: "Replace", path: "active", value: "False" }));
    expect(out.active).toBe(false);
  });

  it("sets the manager through the enterprise URN path, with a bare id", () => {
    const out = patched(user(), patch({ op: "Add", path: `${ENT}:manager`, value: "m2" }));
    expect((out[ENT] as Json).manager).toEqual({ value: "m2" });
    const removed = patched(out, patch({ op: "Remove", path: `${ENT}:manager` }));
    expect(removed[ENT]).toEqual({ department: "Engineering" });
  });

  it("replaces a work email through a value filter, adding it when there is none", () => {
    const out = patched(
      user(),
      patch({ op: "replace", path: 'emails[type eq "work"].value', value: "ada@new.test" }),
    );
    expect(out.emails).toEqual([{ value: "ada@new.test", type: "work", primary: true }]);
    const fresh = user();
    delete fresh.emails;
    const added = patched(
      fresh,
      patch({ op: "replace", path: 'emails[type eq "work"].value', value: "a@b.test" }),
    );
    expect(added.emails).toEqual([{ type: "work", value: "a@b.test" }]);
  });

  it("applies a value object without a path, with dotted and URN-prefixed keys in any case", () => {
    const out = patched(
      user(),
      patch({
        op: "replace",
        value: {
          "name.GivenName": "Augusta",
          [`${ENT}:Department`]: "Research",
          DisplayName: "A. L.",
          nosuch: 1,
        },
      }),
    );
    expect(out.name).toEqual({ givenName: "Augusta", familyName: "Lovelace" });
    expect((out[ENT] as Json).department).toBe("Research");
    expect(out.displayName).toBe("A. L.");
    expect(out).not.toHaveProperty("nosuch");
  });

  it("adds and removes group members, by value filter and by value list", () => {
    const added = patched(
      group(),
      patch({ op: "Add", path: "members", value: [{ value: "u3", displayName: "new User" }] }),
      GROUP_RESOURCE,
    );
    expect(added.members).toEqual([
      { value: "u1", display: "Ada" },
      { value: "u2" },
      { value: "u3", display: "new User" },
    ]);
    const byFilter = patched(added, patch({ op: "remove", path: 'members[value eq "u1"]' }), GROUP_RESOURCE);
    expect(byFilter.members).toEqual([{ value: "u2" }, { value: "u3", display: "new User" }]);
    const byList = patched(
      added,
      patch({ op: "Remove", path: "members", value: [{ value: "u2" }, { value: "u3" }] }),
      GROUP_RESOURCE,
    );
    expect(byList.members).toEqual([{ value: "u1", display: "Ada" }]);
    // Removing a member that is not there is not an error (Entra retries).
    expect(
      patched(group(), patch({ op: "remove", path: 'members[value eq "zz"]' }), GROUP_RESOURCE).members,
    ).toHaveLength(2);
    const empty = patched(group(), patch({ op: "remove", path: "members" }), GROUP_RESOURCE);
    expect(empty).not.toHaveProperty("members");
  });

  it("takes a bare string as a member id (the reference collection's garbage)", () => {
    const out = patched(group(), patch({ op: "add", path: "members", value: "string id 1" }), GROUP_RESOURCE);
    expect(out.members).toContainEqual({ value: "string id 1" });
  });
});

describe("SCIM PATCH as Okta sends it", () => {
  it("deactivates with a value object and no path", () => {
    expect(patched(user(), patch({ op: "replace", value: { active: false } })).active).toBe(false);
  });

  it("renames a group with its id in the value object (read-only, passed over)", () => {
    const out = patched(
      group(),
      patch({ op: "replace", value: { id: "g1", displayName: "Sales EMEA" } }),
      GROUP_RESOURCE,
    );
    expect(out.displayName).toBe("Sales EMEA");
    expect(out).not.toHaveProperty("id");
  });
});

describe("SCIM PATCH refusals", () => {
  const refusal = (body: unknown, type = USER_RESOURCE) => {
    try {
      applyScimPatch(type === USER_RESOURCE ? user() : group(), body, type);
    } catch (err) {
      return err;
    }
    throw new Error("not refused");
  };

  it("says what is wrong, with the RFC 7644 scimType", () => {
    expect(refusal({ Operations: [{ op: "add", path: "title", value: "x" }] })).toMatchObject({
      httpStatus: 400,
      scimType: "invalidSyntax",
    });
    expect(refusal(patch())).toMatchObject({ scimType: "invalidSyntax" });
    expect(refusal(patch({ op: "merge", path: "title", value: "x" }))).toMatchObject({
      scimType: "invalidSyntax",
      message: "Operations[0].op: expected add, replace or remove",
    });
    expect(refusal(patch({ op: "replace", path: "actve", value: false }))).toMatchObject({
      scimType: "invalidPath",
      message: expect.stringContaining('"actve" names no attribute of a User'),
    });
    expect(refusal(patch({ op: "replace", path: "id", value: "x" }))).toMatchObject({
      scimType: "mutability",
    });
    expect(refusal(patch({ op: "replace", path: "meta.created", value: "x" }))).toMatchObject({
      scimType: "mutability",
    });
    expect(refusal(patch({ op: "remove" }))).toMatchObject({ scimType: "noTarget" });
    // Replacing whole elements a filter does not find has no target (a sub-attribute of one is added,
    // as Entra ID relies on for emails[type eq "work"].value).
    expect(
      refusal(
        patch({ op: "replace", path: 'members[value eq "nobody"]', value: { display: "x" } }),
        GROUP_RESOURCE,
      ),
    ).toMatchObject({
      scimType: "noTarget",
    });
    expect(refusal(patch({ op: "replace", path: "emails[type eq", value: "x" }))).toMatchObject({
      httpStatus: 400,
    });
  });

  it("leaves the stored resource untouched", () => {
    const stored = user();
    const before = structuredClone(stored);
    applyScimPatch(stored, patch({ op: "replace", value: { active: false, title: "x" } }), USER_RESOURCE);
    expect(stored).toEqual(before);
  });
});

describe("patchDeactivates", () => {
  const patch = (...Operations: unknown[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations });
  it("sees active set to false as Entra ID and Okta send it", () => {
    expect(patchDeactivates(patch({ op: "Replace", path: "active", value: "False" }))).toBe(true);
    expect(patchDeactivates(patch({ op: "replace", value: { active: false } }))).toBe(true);
    expect(patchDeactivates({ operations: [{ OP: "add", Path: "Active", Value: false }] })).toBe(true);
  });
  it("says no to anything else: reactivation, other attributes, removal, bodies that are not a patch", () => {
    expect(patchDeactivates(patch({ op: "replace", path: "active", value: true }))).toBe(false);
    expect(patchDeactivates(patch({ op: "replace", path: "title", value: "false" }))).toBe(false);
    expect(patchDeactivates(patch({ op: "remove", path: "active" }))).toBe(false);
    expect(patchDeactivates(patch({ op: "replace", value: { title: "x" } }))).toBe(false);
    expect(patchDeactivates({ Operations: "active=false" })).toBe(false);
    expect(patchDeactivates(null)).toBe(false);
  });
});
