import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CLI_ENTRY } from "../helpers/cli.js";
import { runCliInProcess } from "../helpers/cli-in-process.js";
import { freePort } from "../helpers/net.js";
import { type OidcAccount, startOidcProvider, type TestOidcProvider } from "../helpers/oidc-provider.js";

/** The console the build wrote (`npm ci` runs it; `npm run build` after a change to web/). */
export const CONSOLE_INDEX = fileURLToPath(new URL("../../dist/web/index.html", import.meta.url));

export function consoleMissing(): string | null {
  return existsSync(CONSOLE_INDEX) ? null : `the console is not built (${CONSOLE_INDEX}): run npm run build`;
}

export interface Person {
  id: string;
  sourceKey: string;
  email: string;
  displayName: string;
  attributes: Record<string, unknown>;
}

export interface ConsoleServer {
  url: string;
  dir: string;
  config: string[];
  tokens: { admin: string; auditor: string; requester: string; hrSource: string };
  /** Active people of the demo, for sign-in and for terminating. */
  people: Person[];
  /** A person the demo terminated (a leaver), with the email single sign-on would send. */
  leaver: Person;
  oidc: TestOidcProvider;
  /**
   * A new token acting as a person (`tenure token create --identity`), made through the CLI while the
   * server runs: for pages where the person matters (their requests, their approvals).
   */
  tokenFor(name: string, role: string, identity: string): Promise<string>;
  stop(): Promise<void>;
}

/** A setup command, run in process through the CLI's entry function (the server itself is a real child). */
async function cli(args: string[]): Promise<unknown> {
  const res = await runCliInProcess(args);
  if (res.code !== 0) throw new Error(`tenure ${args.join(" ")} failed (${res.code}): ${res.stderr}`);
  return JSON.parse(res.stdout);
}

/**
 * The demo organisation (`tenure demo --no-serve`) served by the real `tenure serve` in a child process,
 * with its HR source taking pushes (so a test terminates someone the way an HR system would), an OpenID
 * provider for single sign-on (admins by the group tenure-admins), and tokens for four roles.
 */
export async function startConsoleServer(
  dir: string,
  extraAccounts: OidcAccount[] = [],
): Promise<ConsoleServer> {
  await cli(["demo", dir, "--size", "120", "--no-serve", "--json"]);
  const yamlPath = path.join(dir, "tenure.yaml");
  const config = ["--config", yamlPath];
  const list = (await cli([...config, "identities", "list", "--json"])) as {
    identities: Array<{ id: string; sourceKey: string; state: string; attributes: Record<string, unknown> }>;
  };
  const toPerson = (i: (typeof list.identities)[number]): Person => ({
    id: i.id,
    sourceKey: i.sourceKey,
    email: String(i.attributes.email),
    displayName: String(i.attributes.displayName),
    attributes: i.attributes,
  });
  const people = list.identities.filter((i) => i.state === "active").map(toPerson);
  const leaver = toPerson(list.identities.find((i) => i.state === "terminated")!);

  // Tokens first: the CLI reads the configuration, whose OIDC secret only the server's environment has.
  const token = async (name: string, role: string) =>
    (
      (await cli([...config, "token", "create", "--name", name, "--role", role, "--json"])) as {
        token: string;
      }
    ).token;
  const tokens = {
    admin: await token("e2e-admin", "admin"),
    auditor: await token("e2e-auditor", "auditor"),
    requester: await token("e2e-requester", "requester"),
    hrSource: await token("e2e-hr", "hr-source"),
  };

  const port = await freePort();
  const oidc = await startOidcProvider({
    redirectUri: `http://127.0.0.1:${port}/auth/oidc/callback`,
    accounts: [
      { login: "ada", email: people[0]!.email, name: people[0]!.displayName, groups: ["tenure-admins"] },
      { login: "gone", email: leaver.email, name: leaver.displayName, groups: ["tenure-admins"] },
      ...extraAccounts,
    ],
  });
  const yaml = await readFile(yamlPath, "utf8");
  const pushing = yaml.replace(
    / {2}hr:\n {4}type: csv\n[\s\S]*?missingMeans: terminate\n/,
    "  hr:\n    type: push\n    timeZone: Europe/London\n",
  );
  if (pushing === yaml)
    throw new Error("the demo's tenure.yaml no longer has the hr source this test rewrites");
  await writeFile(
    yamlPath,
    `${pushing}
server:
  port: ${port}
  applyIntervalSeconds: 1
  console:
    oidc:
      issuer: ${oidc.issuer}
      clientId: ${oidc.clientId}
      clientSecret: \${env:E2E_OIDC_SECRET}
      label: Test IdP
      match: { claim: email, attribute: email }
      roles: { claim: groups, map: { tenure-admins: admin, tenure-auditors: auditor } }
`,
  );
  const child: ChildProcess = spawn(
    process.execPath,
    [...CLI_ENTRY, ...config, "serve", "--log-format", "json"],
    { env: { ...process.env, E2E_OIDC_SECRET: oidc.clientSecret }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tenure serve did not start: ${stderr}`)), 60_000);
    child.stderr?.on("data", (d) => {
      stderr += d;
      const m = /tenure API on (http:\/\/\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stdout?.resume();
    child.on("exit", (code) => reject(new Error(`tenure serve exited (${code}): ${stderr}`)));
  });
  return {
    url,
    dir,
    config,
    tokens,
    people,
    leaver,
    oidc,
    async tokenFor(name, role, identity) {
      // The configuration now names the OIDC secret by variable: the CLI needs it to read the file.
      const res = await runCliInProcess(
        [...config, "token", "create", "--name", name, "--role", role, "--identity", identity, "--json"],
        { env: { E2E_OIDC_SECRET: oidc.clientSecret } },
      );
      if (res.code !== 0) throw new Error(`tenure token create failed (${res.code}): ${res.stderr}`);
      return (JSON.parse(res.stdout) as { token: string }).token;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
      await oidc.close();
    },
  };
}
