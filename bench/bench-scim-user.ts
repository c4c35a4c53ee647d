/** The SCIM User the burst benches POST to Tenure's SCIM server: person `i` of `department`. */
export function benchScimUser(i: number, department: string, key = String(100000 + i)) {
  return {
    schemas: [
      "urn:ietf:params:scim:schemas:core:2.0:User",
      "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    externalId: key,
    userName: `person${key}@example.test`,
    name: { givenName: "Person", familyName: `Number${i}` },
    displayName: `Person ${i}`,
    emails: [{ value: `person${key}@example.test`, type: "work", primary: true }],
    active: true,
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": { department },
  };
}
