import { z } from "zod";
import { strictObject } from "../../config/schema-helpers.js";
import { secret } from "../../shared/secret-field.js";
import { CONSOLE_ROLES, SCIM_KEY_ATTRIBUTES, type ServerConfig } from "../config-types.js";
import { scheduleSection } from "./schedule-section.js";

function positiveWhole(expected: string) {
  return z.number({ error: expected }).int({ error: expected }).min(1, { error: expected });
}

const pushSource = "expected the name of a push source";
const httpUrl = "expected an http(s) URL";

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

const role = z.enum(CONSOLE_ROLES, { error: `expected a platform role: ${CONSOLE_ROLES.join(", ")}` });
const nonEmpty = (expected: string) => z.string({ error: expected }).min(1, { error: expected });

/** `server.console:` — sessions and single sign-on for the web console (docs/console.md). */
const consoleSection = strictObject({
  sessionHours: z
    .number({ error: "expected a number of hours from 1 to 720" })
    .min(1, { error: "expected a number of hours from 1 to 720" })
    .max(720, { error: "expected a number of hours from 1 to 720" })
    .default(8),
  publicUrl: nonEmpty(httpUrl).refine(isHttpUrl, { error: httpUrl }).optional(),
  oidc: strictObject({
    issuer: nonEmpty(httpUrl).refine(isHttpUrl, { error: httpUrl }),
    clientId: nonEmpty("expected the client id registered with the provider"),
    clientSecret: secret(nonEmpty("expected the client secret, e.g. $" + "{env:TENURE_OIDC_SECRET}")),
    label: nonEmpty("expected the text of the sign-in button").max(60).default("single sign-on"),
    scopes: z.array(nonEmpty("expected a scope")).min(1).default(["openid", "email", "profile"]),
    match: strictObject({
      claim: nonEmpty("expected a claim name").default("email"),
      attribute: z.enum(["email", "employeeId", "id"]).default("email"),
    }).prefault({}),
    roles: strictObject({
      claim: nonEmpty("expected a claim name").default("groups"),
      map: z.record(z.string(), role).default({}),
      default: role.optional(),
    }).prefault({}),
  }).optional(),
}).prefault({});

/** `server:` — how `tenure serve` listens and runs. Defaults as in `ServerConfig`. */
export const serverSection = strictObject({
  host: z.string({ error: "expected a host name or IP address" }).min(1).default("127.0.0.1"),
  port: z
    .number({ error: "expected a TCP port from 0 to 65535" })
    .int({ error: "expected a TCP port from 0 to 65535" })
    .min(0, { error: "expected a TCP port from 0 to 65535" })
    .max(65535, { error: "expected a TCP port from 0 to 65535" })
    .default(8080),
  bodyLimit: positiveWhole("expected a size in bytes (1 or more)").default(1_048_576),
  trustProxy: z.boolean({ error: "expected true or false" }).default(false),
  applyIntervalSeconds: z
    .number({ error: "expected a whole number of seconds (0 or more)" })
    .int({ error: "expected a whole number of seconds (0 or more)" })
    .min(0, { error: "expected a whole number of seconds (0 or more)" })
    .default(5),
  shutdownGraceSeconds: positiveWhole("expected a whole number of seconds (1 or more)").default(30),
  authFailuresPerMinute: positiveWhole("expected a whole number (1 or more)").default(10),
  healthTimeoutMs: positiveWhole("expected a whole number of milliseconds (1 or more)").default(3000),
  pushConcurrency: positiveWhole("expected a whole number of pushes (1 or more)").optional(),
  schedule: scheduleSection,
  scim: strictObject({
    source: z.string({ error: pushSource }).min(1, { error: pushSource }),
    key: z.enum(SCIM_KEY_ATTRIBUTES).default("externalId"),
  }).optional(),
  console: consoleSection,
}).prefault({});

/** `server:` with every key at its default, as a file without the section gets it. Frozen. */
export const DEFAULT_SERVER: ServerConfig = Object.freeze(serverSection.parse(undefined));
