/**
 * A private OpenLDAP slapd for one test file (docs/architecture.md "Tests"): a temp dir, a
 * free loopback port, the memberof, refint and ppolicy overlays, and a base tree
 * (dc=example,dc=test with ou=people, ou=groups, ou=policies, the default password policy with
 * pwdLockout TRUE, and two groups). Stop it with `stop()`.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Attribute, Change, Client } from "ldapts";
import { freePort } from "./net.js";

const execFileAsync = promisify(execFile);

export const SLAPD_INSTALL = "apt-get install -y slapd ldap-utils";
export const SUFFIX = "dc=example,dc=test";
export const ADMIN_DN = `cn=admin,${SUFFIX}`;

const SLAPD_CANDIDATES = ["/usr/sbin/slapd", "/usr/local/sbin/slapd", "/usr/local/libexec/slapd"];

export interface Slapd {
  url: string;
  port: number;
  adminDn: string;
  adminPassword: string;
  /** The server's process id (to freeze it with SIGSTOP in a test, and thaw it with SIGCONT). */
  pid: number;
  /** A client bound as the rootdn; the caller unbinds it. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

/** The slapd binary, or undefined when OpenLDAP is not installed. */
export async function findSlapd(): Promise<string | undefined> {
  for (const candidate of SLAPD_CANDIDATES) {
    try {
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

function slapdConf(dir: string, hashedPassword: string): string {
  return `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile ${dir}/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload ppolicy
database config
rootdn "cn=admin,cn=config"
rootpw ${hashedPassword}
database mdb
maxsize 4294967296
suffix "${SUFFIX}"
rootdn "${ADMIN_DN}"
rootpw ${hashedPassword}
directory ${dir}/db
dbnosync
index objectClass eq
index uid,cn,mail eq,sub
index member,memberOf eq
index entryUUID eq
overlay memberof
overlay refint
refint_attributes member
overlay ppolicy
ppolicy_default "cn=default,ou=policies,${SUFFIX}"
`;
}

/** The base tree every test starts from. */
const BASE_ENTRIES: [string, Record<string, string | string[]>][] = [
  [SUFFIX, { objectClass: ["dcObject", "organization"], dc: "example", o: "Example" }],
  [`ou=people,${SUFFIX}`, { objectClass: "organizationalUnit", ou: "people" }],
  [`ou=groups,${SUFFIX}`, { objectClass: "organizationalUnit", ou: "groups" }],
  [`ou=policies,${SUFFIX}`, { objectClass: "organizationalUnit", ou: "policies" }],
  [
    `cn=default,ou=policies,${SUFFIX}`,
    {
      objectClass: ["device", "pwdPolicy"],
      cn: "default",
      pwdAttribute: "userPassword",
      pwdLockout: "TRUE",
    },
  ],
  [
    `cn=staff,ou=groups,${SUFFIX}`,
    { objectClass: "groupOfNames", cn: "staff", description: "All staff", member: ADMIN_DN },
  ],
  [
    `cn=admins,ou=groups,${SUFFIX}`,
    { objectClass: "groupOfNames", cn: "admins", description: "Administrators", member: ADMIN_DN },
  ],
];

async function waitForPort(port: number, child: ChildProcess, deadlineMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`slapd exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - started > deadlineMs)
      throw new Error(`slapd did not listen on ${port} in ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** An LDIF record of an entry: multi-valued attributes are written once per value. */
function ldifRecord(dn: string, attributes: Record<string, string | string[]>): string {
  const lines = [`dn: ${dn}`];
  for (const [name, value] of Object.entries(attributes)) {
    for (const v of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${v}`);
  }
  return `${lines.join("\n")}\n\n`;
}

export interface SlapdOptions {
  /**
   * Entries loaded with `slapadd` before the server starts, after the base tree: far faster than adding
   * them over the protocol (for benchmarks with 100,000 entries). Values must be LDIF-safe text.
   */
  preload?: Iterable<[string, Record<string, string | string[]>]>;
}

/** Starts a slapd with the base tree loaded. Throws when slapd is missing or does not start. */
export async function startSlapd(options: SlapdOptions = {}): Promise<Slapd> {
  const binary = await findSlapd();
  if (binary === undefined) throw new Error(`slapd is not installed; install it: ${SLAPD_INSTALL}`);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tenure-slapd-"));
  await fs.mkdir(path.join(dir, "db"));
  const adminPassword = randomBytes(12).toString("hex");
  const { stdout } = await execFileAsync("slappasswd", ["-s", adminPassword], {
    env: { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin` },
  });
  await fs.writeFile(path.join(dir, "slapd.conf"), slapdConf(dir, stdout.trim()));
  const sbinPath = { ...process.env, PATH: `${process.env.PATH ?? ""}:/usr/sbin:/usr/local/sbin` };
  if (options.preload !== undefined) {
    const ldif = path.join(dir, "preload.ldif");
    const out = await fs.open(ldif, "w");
    try {
      for (const [dn, attributes] of BASE_ENTRIES) await out.write(ldifRecord(dn, attributes));
      for (const [dn, attributes] of options.preload) await out.write(ldifRecord(dn, attributes));
    } finally {
      await out.close();
    }
    // slapadd is the same binary as slapd, run under another name.
    await execFileAsync("slapadd", ["-q", "-f", path.join(dir, "slapd.conf"), "-l", ldif], {
      env: sbinPath,
      maxBuffer: 16 * 1024 * 1024,
    });
  }
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const child = spawn(binary, ["-d", "0", "-f", path.join(dir, "slapd.conf"), "-h", `${url}/`], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // A server a test left frozen (SIGSTOP) would not act on SIGTERM until thawed.
      child.kill("SIGCONT");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    await fs.rm(dir, { recursive: true, force: true });
  };

  const admin = async () => {
    const client = new Client({ url, timeout: 5000, connectTimeout: 5000 });
    await client.bind(ADMIN_DN, adminPassword);
    return client;
  };

  try {
    await waitForPort(port, child, 10_000);
    const client = await admin();
    try {
      if (options.preload === undefined) {
        for (const [dn, attributes] of BASE_ENTRIES) await client.add(dn, attributes);
      }
    } finally {
      await client.unbind();
    }
  } catch (err) {
    await stop();
    throw new Error(`slapd did not start: ${String(err)}\n${stderr.slice(-2000)}`);
  }
  return { url, port, adminDn: ADMIN_DN, adminPassword, pid: child.pid ?? 0, admin, stop };
}

/**
 * Loads OpenLDAP's `lastbind` overlay into a running server (through cn=config, as the server runs from
 * slapd.conf: the change lasts until it stops): from then on every successful simple bind writes the
 * entry's operational attribute `authTimestamp` (generalized time). `precision` is the least number of
 * seconds between two updates (0: every bind).
 */
export async function enableLastBind(s: Slapd, precision = 0): Promise<void> {
  const client = new Client({ url: s.url, timeout: 5000, connectTimeout: 5000 });
  try {
    await client.bind("cn=admin,cn=config", s.adminPassword);
    await client.modify(
      "cn=module{0},cn=config",
      new Change({
        operation: "add",
        modification: new Attribute({ type: "olcModuleLoad", values: ["lastbind"] }),
      }),
    );
    await client.add("olcOverlay=lastbind,olcDatabase={1}mdb,cn=config", {
      objectClass: ["olcOverlayConfig", "olcLastBindConfig"],
      olcOverlay: "lastbind",
      olcLastBindPrecision: String(precision),
    });
  } finally {
    await client.unbind();
  }
}
