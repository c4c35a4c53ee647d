/**
 * A Samba AD domain controller for the one test file that needs Active Directory semantics (see
 * docs/architecture.md "Tests"): realm EXAMPLE.TEST, base DC=example,DC=test,
 * LDAP on 127.0.0.1:389 and LDAPS on 127.0.0.1:636 with a certificate for 127.0.0.1 signed by nothing
 * (its PEM is `caFile`, so clients can verify it). Stop it with `stop()`.
 *
 * Samba listens on fixed ports (389, 636, 3268), so only ONE test file may use this helper: vitest runs
 * files in parallel. Before starting, a Samba left behind by a test process that no longer exists is
 * stopped (by the pid it wrote), and a port held by anything else (the slapd package's own daemon, say)
 * is reported with its process name.
 *
 * Provisioning takes about 7 s, so the provisioned domain — with whatever `seed.populate` adds — is
 * kept in the temp dir as a template keyed by the Samba version and `seed.key`; each start copies it
 * to a fresh directory (a fraction of a second), so runs never see each other's entries.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { Client } from "ldapts";

const execFileAsync = promisify(execFile);

export const SAMBA_INSTALL = "apt-get install -y --no-install-recommends samba-ad-dc samba-ad-provision";
export const AD_BASE_DN = "DC=example,DC=test";
export const AD_UPN_SUFFIX = "example.test";
export const AD_ADMIN_DN = `CN=Administrator,CN=Users,${AD_BASE_DN}`;

const HOST = "127.0.0.1";
const PORTS = [389, 636, 3268] as const;
/** Bump when the recipe below changes, so cached templates made by the old one are not used. */
const TEMPLATE_VERSION = 1;
const RUN_PREFIX = "tenure-samba-run-";
const STAGING_PREFIX = "tenure-samba-ad-staging-";

const BINARIES = {
  samba: ["/usr/sbin/samba", "/usr/local/sbin/samba"],
  sambaTool: ["/usr/bin/samba-tool", "/usr/local/bin/samba-tool"],
  openssl: ["/usr/bin/openssl", "/usr/local/bin/openssl"],
} as const;

type Binaries = Record<keyof typeof BINARIES, string>;

export interface SambaAd {
  ldapsUrl: string;
  ldapUrl: string;
  baseDn: string;
  adminDn: string;
  adminPassword: string;
  /** The PEM of the server's self-signed certificate: the CA file a verifying client needs. */
  caFile: string;
  /** How long provisioning and seeding took in this start, in ms (0 when the template was cached). */
  provisionMs: number;
  /** A client bound as Administrator over LDAPS (certificate verified); the caller unbinds it. */
  admin(): Promise<Client>;
  stop(): Promise<void>;
}

/** Entries every start of the domain should hold, added once when the template is made. */
export interface SambaSeed {
  /** Names the content: a different key makes (and caches) a different template. */
  key: string;
  populate(admin: Client): Promise<void>;
}

async function firstExecutable(candidates: readonly string[]): Promise<string | undefined> {
  for (const candidate of candidates) {
    try {
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** samba, samba-tool and openssl, or undefined when any is missing. */
export async function findSamba(): Promise<Binaries | undefined> {
  const found: Partial<Binaries> = {};
  for (const [name, candidates] of Object.entries(BINARIES) as [keyof Binaries, readonly string[]][]) {
    const binary = await firstExecutable(candidates);
    if (binary === undefined) return undefined;
    found[name] = binary;
  }
  return found as Binaries;
}

/** Signals the process group Samba was started in (its prefork workers too); quiet if it is gone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readPid(file: string): Promise<number | undefined> {
  const text = await fs.readFile(file, "utf8").catch(() => "");
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/** Waits until `pid` is gone, up to `ms`. */
async function gone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** Whether process `pid` has a file under `dir` open (Linux /proc). */
async function holdsFilesIn(pid: number, dir: string): Promise<boolean> {
  for (const fd of await fs.readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
    if (target.startsWith(`${dir}/`)) return true;
  }
  return false;
}

/**
 * Stops Samba processes that this helper started for a test process that has since died (killed
 * worker, interrupted run), and removes their directories. Processes of a live test process are left.
 */
async function stopOrphans(): Promise<void> {
  const tmp = os.tmpdir();
  for (const name of await fs.readdir(tmp)) {
    // A run directory, or a template being seeded (its Samba runs from `seeding/`).
    const staging = name.startsWith(STAGING_PREFIX);
    if (!name.startsWith(RUN_PREFIX) && !staging) continue;
    const dir = path.join(tmp, name, staging ? "seeding" : "");
    const owner = await readPid(path.join(dir, "owner"));
    if (staging && owner === undefined) continue; // still provisioning, or not seeded

    if (owner !== undefined && alive(owner)) continue;
    const pid = await readPid(path.join(dir, "run", "samba.pid"));
    if (pid !== undefined && alive(pid)) {
      // Samba rewrites its command line, so its open files tell whether the pid is still that Samba.
      if (!(await holdsFilesIn(pid, dir))) continue;
      for (const signal of ["SIGTERM", "SIGKILL"] as const) {
        signalGroup(pid, signal);
        if (await gone(pid, 5000)) break;
      }
    }
    await fs.rm(path.join(tmp, name), { recursive: true, force: true });
  }
}

/** The process listening on a local TCP port, from /proc (Linux), e.g. `slapd (pid 812)`. */
async function listener(port: number): Promise<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const lines = (await fs.readFile(table, "utf8").catch(() => "")).split("\n").slice(1);
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT; state 0A is LISTEN; column 9 is the socket inode.
      if (cols[1]?.endsWith(`:${hexPort}`) && cols[3] === "0A" && cols[9] !== undefined) inodes.add(cols[9]);
    }
  }
  for (const pid of (await fs.readdir("/proc").catch(() => [])).filter((p) => /^\d+$/.test(p))) {
    const fds = await fs.readdir(`/proc/${pid}/fd`).catch(() => []);
    for (const fd of fds) {
      const link = await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => "");
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode !== undefined && inodes.has(inode)) {
        const comm = (await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => "?")).trim();
        return `${comm} (pid ${pid})`;
      }
    }
  }
  return "an unknown process";
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, HOST);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Whether any of Samba's ports still answers, after waiting up to `ms` for them all to close. */
async function portsBusy(ms: number): Promise<number | undefined> {
  const deadline = Date.now() + ms;
  for (;;) {
    let busy: number | undefined;
    for (const port of PORTS) if (busy === undefined && (await listening(port))) busy = port;
    if (busy === undefined || Date.now() > deadline) return busy;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Throws, naming the process, when something listens on one of Samba's ports (after a few seconds'
 * grace: a Samba stopped just before may still be closing them).
 */
async function requireFreePorts(): Promise<void> {
  const port = await portsBusy(3000);
  if (port !== undefined) {
    throw new Error(
      `Samba AD needs ${HOST}:${port}, but ${await listener(port)} listens there. Stop it (the slapd ` +
        "package starts its own daemon: pkill -x slapd; a Samba AD DC package daemon: pkill -x samba).",
    );
  }
}

/** A running `samba` in the foreground of its own process group, with its last output kept. */
interface SambaProcess {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function spawnSamba(bin: Binaries, domainDir: string, runDir: string, tlsDir: string): SambaProcess {
  const child = spawn(
    bin.samba,
    [
      "-i",
      "-s",
      path.join(domainDir, "etc", "smb.conf"),
      "--option=server services=ldap",
      "--option=ldap server require strong auth=no",
      // Samba accepts a replaced password for 60 minutes by default (NTLM's grace); AD's LDAP bind does not.
      "--option=old password allowed period=0",
      `--option=tls keyfile=${path.join(tlsDir, "key.pem")}`,
      `--option=tls certfile=${path.join(tlsDir, "cert.pem")}`,
      "--option=tls cafile=",
      // Everything the daemon writes stays in the run directory (not /run/samba, /var/log/samba).
      `--option=pid directory=${path.join(runDir, "run")}`,
      `--option=ncalrpc dir=${path.join(runDir, "ncalrpc")}`,
      `--option=log file=${path.join(runDir, "samba.log")}`,
    ],
    { detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A test process that exits without afterAll (a crash, a timeout) takes its Samba with it.
  const onExit = () => signalGroup(child.pid!, "SIGKILL");
  process.once("exit", onExit);
  return {
    child,
    output: () => output,
    stop: async () => {
      process.removeListener("exit", onExit);
      if (child.exitCode === null && child.signalCode === null) {
        signalGroup(child.pid!, "SIGTERM");
        const timer = setTimeout(() => onExit(), 5000);
        await exited;
        clearTimeout(timer);
      }
      // The prefork workers share the group; make sure none outlives the root process, and that the
      // ports are closed before the next start looks at them.
      onExit();
      await portsBusy(5000);
    },
  };
}

async function adminClient(adminPassword: string, ca: Buffer): Promise<Client> {
  const client = new Client({
    url: `ldaps://${HOST}:636`,
    timeout: 10_000,
    connectTimeout: 5000,
    tlsOptions: { ca },
  });
  try {
    await client.bind(AD_ADMIN_DN, adminPassword);
    return client;
  } catch (err) {
    await client.unbind().catch(() => {});
    throw err;
  }
}

/** Waits until an Administrator bind over LDAPS works (Samba answers about 1 s after it starts). */
async function waitReady(samba: SambaProcess, adminPassword: string, ca: Buffer): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (samba.child.exitCode !== null) throw new Error(`samba exited with code ${samba.child.exitCode}`);
    try {
      const client = await adminClient(adminPassword, ca);
      await client.unbind();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Samba AD did not answer on LDAPS in 30 s: ${String(err)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Where the template for this Samba version and seed lives. */
async function templateDir(bin: Binaries, seed: SambaSeed | undefined): Promise<string> {
  const { stdout } = await execFileAsync(bin.samba, ["--version"]);
  const key = createHash("sha256")
    .update(`${TEMPLATE_VERSION}\0${stdout.trim()}\0${seed?.key ?? ""}`)
    .digest("hex")
    .slice(0, 16);
  return path.join(os.tmpdir(), `tenure-samba-ad-${key}`);
}

/**
 * Provisions a domain, makes its certificate, runs `seed.populate` against it, and keeps the result
 * as the template: `domain/` (the provisioned tree), `tls/`, `admin-password`, and `origin` (the path
 * the tree was provisioned at, which its smb.conf names).
 */
async function makeTemplate(bin: Binaries, template: string, seed: SambaSeed | undefined): Promise<void> {
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), STAGING_PREFIX));
  const domainDir = path.join(staging, "domain");
  const tlsDir = path.join(staging, "tls");
  // Upper case, lower case and a digit: the domain's default complexity rule.
  const adminPassword = `Ad1-${randomBytes(12).toString("base64url")}`;
  try {
    await execFileAsync(bin.sambaTool, [
      "domain",
      "provision",
      `--targetdir=${domainDir}`,
      "--realm=EXAMPLE.TEST",
      "--domain=EXAMPLE",
      "--server-role=dc",
      "--dns-backend=NONE",
      "--use-rfc2307",
      "--host-name=dc1",
      `--adminpass=${adminPassword}`,
      "--option=interfaces=lo",
      "--option=bind interfaces only=yes",
    ]);
    await fs.mkdir(tlsDir);
    await execFileAsync(bin.openssl, [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "3650",
      "-subj",
      `/CN=${HOST}`,
      "-addext",
      `subjectAltName=IP:${HOST},DNS:localhost`,
      "-keyout",
      path.join(tlsDir, "key.pem"),
      "-out",
      path.join(tlsDir, "cert.pem"),
    ]);
    // Samba refuses a private key others can read.
    await fs.chmod(path.join(tlsDir, "key.pem"), 0o600);
    if (seed !== undefined) {
      const runDir = path.join(staging, "seeding");
      await fs.mkdir(runDir);
      await fs.writeFile(path.join(runDir, "owner"), String(process.pid));
      const samba = spawnSamba(bin, domainDir, runDir, tlsDir);
      try {
        const ca = await fs.readFile(path.join(tlsDir, "cert.pem"));
        await waitReady(samba, adminPassword, ca);
        const admin = await adminClient(adminPassword, ca);
        try {
          await seed.populate(admin);
        } finally {
          await admin.unbind().catch(() => {});
        }
      } catch (err) {
        throw new Error(`seeding the Samba AD template failed: ${String(err)}\n${samba.output()}`);
      } finally {
        await samba.stop();
      }
      await fs.rm(runDir, { recursive: true, force: true });
    }
    await fs.writeFile(path.join(staging, "admin-password"), adminPassword, { mode: 0o600 });
    await fs.writeFile(path.join(staging, "origin"), domainDir);
    try {
      await fs.rename(staging, template);
    } catch {
      // Another process made the same template meanwhile: use that one.
      await fs.rm(staging, { recursive: true, force: true });
    }
  } catch (err) {
    await fs.rm(staging, { recursive: true, force: true });
    const stderr = (err as { stderr?: unknown }).stderr;
    throw new Error(
      `provisioning Samba AD failed: ${String(err)}${typeof stderr === "string" ? `\n${stderr.slice(-2000)}` : ""}`,
    );
  }
}

/**
 * Starts a Samba AD DC from the cached template (provisioning and seeding it first when there is
 * none). Throws when Samba is missing, a port is taken, or the server does not come up.
 */
export async function startSambaAd(options: { seed?: SambaSeed } = {}): Promise<SambaAd> {
  const bin = await findSamba();
  if (bin === undefined) throw new Error(`Samba AD is not installed; install it: ${SAMBA_INSTALL}`);
  await stopOrphans();
  await requireFreePorts();

  const started = Date.now();
  const template = await templateDir(bin, options.seed);
  const cached = await fs
    .access(path.join(template, "origin"))
    .then(() => true)
    .catch(() => false);
  if (!cached) await makeTemplate(bin, template, options.seed);
  const provisionMs = cached ? 0 : Date.now() - started;

  const runDir = await fs.mkdtemp(path.join(os.tmpdir(), RUN_PREFIX));
  await fs.writeFile(path.join(runDir, "owner"), String(process.pid));
  await execFileAsync("cp", ["-a", `${template}/.`, runDir]);
  const domainDir = path.join(runDir, "domain");
  const tlsDir = path.join(runDir, "tls");
  const origin = (await fs.readFile(path.join(runDir, "origin"), "utf8")).trim();
  const smbConf = path.join(domainDir, "etc", "smb.conf");
  await fs.writeFile(smbConf, (await fs.readFile(smbConf, "utf8")).split(origin).join(domainDir));
  const adminPassword = (await fs.readFile(path.join(runDir, "admin-password"), "utf8")).trim();
  const caFile = path.join(tlsDir, "cert.pem");
  const ca = await fs.readFile(caFile);

  const samba = spawnSamba(bin, domainDir, runDir, tlsDir);
  const stop = async () => {
    await samba.stop();
    await fs.rm(runDir, { recursive: true, force: true });
  };
  try {
    await waitReady(samba, adminPassword, ca);
  } catch (err) {
    const output = samba.output();
    await stop();
    throw new Error(`Samba AD did not start: ${String(err)}\n${output}`);
  }
  return {
    ldapsUrl: `ldaps://${HOST}:636`,
    ldapUrl: `ldap://${HOST}:389`,
    baseDn: AD_BASE_DN,
    adminDn: AD_ADMIN_DN,
    adminPassword,
    caFile,
    provisionMs,
    admin: () => adminClient(adminPassword, ca),
    stop,
  };
}
