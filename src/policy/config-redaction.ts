import { redactNotify } from "../notify/notify-section.js";
import { redactUrl as redactDatabaseUrl } from "../shared/redact.js";
import type { NodePath } from "./config-references.js";
import type { NotifyConfig, TenureConfig } from "./config-types.js";

export { redactDatabaseUrl };

/** Where a loaded config holds a value that came from a reference, and the text it was written as. */
export interface ReferencedValue {
  readonly path: NodePath;
  readonly original: string;
}

// Kept beside the config rather than in it: TenureConfig stays the plain shape consumers expect,
// and a config nobody holds any more takes its entry with it.
const referencedValues = new WeakMap<TenureConfig, readonly ReferencedValue[]>();
// The values references produced, by config and by its policy: a shallow copy of a loaded config that
// keeps its policy (a test changing server settings) keeps them too.
const resolvedSecrets = new WeakMap<object, readonly string[]>();

/**
 * Records which values of `config` were resolved from references, and the values they produced;
 * called by the loader only.
 */
export function rememberReferencedValues(
  config: TenureConfig,
  values: readonly ReferencedValue[],
  secrets: readonly string[] = [],
): void {
  referencedValues.set(config, values);
  const unique = [...new Set(secrets)];
  resolvedSecrets.set(config, unique);
  resolvedSecrets.set(config.policy, unique);
}

/** Every value a `${env:…}` / `${file:…}` reference of the loaded `config` produced. */
export function referencedSecrets(config: TenureConfig): readonly string[] {
  return resolvedSecrets.get(config) ?? resolvedSecrets.get(config.policy) ?? [];
}

/**
 * A copy of `config` that is safe to print or log: every value that came from `${env:…}` or
 * `${file:…}` is shown as written in the file (the reference, not its value), and every URL in the
 * database setting or a connector config has its password replaced by `***`, and `notify` hides its
 * SMTP password, webhook secrets and webhook URLs (see `redactNotify`). The copy is plain data,
 * not frozen; functions (compiled rules) are left out.
 */
export function redactConfig(config: TenureConfig): TenureConfig {
  const copy = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  for (const { path, original } of referencedValues.get(config) ?? []) {
    setAt(copy, configPathOf(path), original);
  }
  copy.database = redactDatabaseUrl(String(copy.database));
  const systems = (copy.policy as { systems?: Record<string, { connectorConfig?: unknown }> } | undefined)
    ?.systems;
  for (const system of Object.values(systems ?? {})) {
    system.connectorConfig = redactUrls(system.connectorConfig);
  }
  if (copy.notify !== undefined) copy.notify = redactNotify(copy.notify as NotifyConfig);
  return copy as unknown as TenureConfig;
}

/** Where a value written at `path` in the file sits in `TenureConfig`: the policy sections moved. */
function configPathOf(path: NodePath): NodePath {
  const [section, name, field, ...rest] = path;
  if (section === "systems" && name !== undefined && field === "config") {
    return ["policy", "systems", name, "connectorConfig", ...rest];
  }
  if (section === "roles" && name !== undefined && field === "when")
    return ["policy", "roles", name, "when", "source"];
  if (section === "systems" || section === "entitlements" || section === "roles") return ["policy", ...path];
  return path;
}

/** Connector configs may hold a URL with an inline password (a `sql` system's `url`). */
function redactUrls(value: unknown): unknown {
  if (typeof value === "string") return redactDatabaseUrl(value);
  if (Array.isArray(value)) return value.map(redactUrls);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, redactUrls(child)]));
  }
  return value;
}

function setAt(root: Record<string, unknown>, path: NodePath, value: string): void {
  let target: unknown = root;
  for (const segment of path.slice(0, -1)) {
    if (typeof target !== "object" || target === null) return;
    target = (target as Record<string | number, unknown>)[segment];
  }
  const last = path.at(-1);
  if (typeof target !== "object" || target === null || last === undefined) return;
  const holder = target as Record<string | number, unknown>;
  // Only replace what is there: a resolved value may sit under a key the config does not keep.
  if (typeof holder[last] === "string") holder[last] = value;
}
