import type { Command } from "commander";
import { lastReconcileBySystem } from "../../engine/access-queries.js";
import { type ClaimStatus, claimStatus } from "../../engine/claim-recovery.js";
import { retryDeadOperation } from "../../engine/enqueue.js";
import { applyQueued } from "../../engine/provision.js";
import { NotFoundError, UsageError } from "../../shared/errors.js";
import { identityRepository } from "../../store/identity-repository.js";
import {
  OPERATION_STATES,
  type OperationState,
  operationRepository,
} from "../../store/operation-repository.js";
import type { Db } from "../../store/schema-types.js";
import { taskRepository } from "../../store/task-repository.js";
import { unprovisionedRepository } from "../../store/unprovisioned-repository.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { runExitCode } from "../exit-codes.js";
import { printJson, println, printTable } from "../output.js";
import { createProgress } from "../progress.js";
import { uniquePrefixes } from "../unique-prefixes.js";

/** The identities the last run left without an account, with their HR keys. */
async function unprovisionedWithKeys(db: Db) {
  const rows = await unprovisionedRepository.list(db);
  const identities = await identityRepository.findByIds(
    db,
    rows.map((r) => r.identityId),
  );
  return rows.map((r) => ({ ...r, sourceKey: identities.get(r.identityId)?.sourceKey ?? null }));
}

export function registerStatus(program: Command): void {
  program
    .command("status")
    .description(
      "identities by state, operations by state, claims and whether they wait, failing operations with their errors, last reconcile per system",
    )
    .action(async (_opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const status = await withStore(g, async ({ config, store }) => {
        const at = now();
        const [identities, operations, failed, dead, lastReconcile, tasks, claims, unprovisioned] =
          await Promise.all([
            identityRepository.countByState(store.db),
            operationRepository.countByState(store.db),
            operationRepository.list(store.db, { state: "failed", limit: 50 }),
            operationRepository.list(store.db, { state: "dead", limit: 50 }),
            lastReconcileBySystem(store, Object.keys(config.policy.systems)),
            taskRepository.countOpen(store.db, at),
            claimStatus(store, { now: at }),
            unprovisionedWithKeys(store.db),
          ]);
        return {
          identities,
          operations,
          failing: [...dead, ...failed],
          lastReconcile,
          tasks,
          claims,
          unprovisioned,
        };
      });
      if (o.json) {
        printJson(o, status);
        return;
      }
      println(
        o,
        `identities: ${
          Object.entries(status.identities)
            .map(([s, n]) => `${n} ${s}`)
            .join(", ") || "none"
        }`,
      );
      println(
        o,
        `operations: ${Object.entries(status.operations)
          .map(([s, n]) => `${n} ${s}`)
          .join(", ")}`,
      );
      for (const line of claimLines(status.claims)) println(o, line);
      if (status.unprovisioned.length > 0) {
        println(o, `without an account (last provisioning run): ${status.unprovisioned.length}`);
        for (const u of status.unprovisioned)
          println(o, `  ${u.sourceKey ?? u.identityId} in ${u.system}: ${u.message}`);
      }
      if (status.tasks.open > 0) {
        println(o, `tasks: ${status.tasks.open} open, ${status.tasks.overdue} overdue (tenure tasks list)`);
      }
      if (status.failing.length > 0) {
        println(o, "failing operations:");
        const shortIds = uniquePrefixes(status.failing.map((op) => op.id));
        printTable(
          o,
          ["ID", "STATE", "SYSTEM", "OPERATION", "ATTEMPTS", "NEXT", "ERROR"],
          status.failing.map((op) => [
            shortIds.get(op.id),
            op.state,
            op.system,
            `${op.kind} ${op.entitlement ?? op.username}`,
            `${op.attempts}/${op.maxAttempts}`,
            op.state === "dead" ? "—" : op.nextAttemptAt,
            op.lastError,
          ]),
        );
      }
      for (const [system, run] of Object.entries(status.lastReconcile)) {
        println(
          o,
          `system ${system}: ${run ? `last reconciled ${run.at}, ${run.orphans} orphans` : "never reconciled"}`,
        );
      }
    });

  const ops = program.command("operations").description("durable provisioning operations");
  ops
    .command("list")
    .description("list operations")
    .option("--state <state>", `only this state (${OPERATION_STATES.join(", ")})`)
    .option("--system <name>", "only this system")
    .option("--trace-id <id>", "only those queued under this trace id (a push's request id, a sync's run)")
    .option("--limit <n>", "at most this many", (v) => Number.parseInt(v, 10), 200)
    .action(
      async (opts: { state?: string; system?: string; traceId?: string; limit: number }, cmd: Command) => {
        if (opts.state !== undefined && !OPERATION_STATES.includes(opts.state as OperationState)) {
          throw new UsageError(`--state "${opts.state}" is not one of ${OPERATION_STATES.join(", ")}`);
        }
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const list = await withStore(g, ({ store }) =>
          operationRepository.list(store.db, {
            ...(opts.state !== undefined ? { state: opts.state as OperationState } : {}),
            ...(opts.system !== undefined ? { system: opts.system } : {}),
            ...(opts.traceId !== undefined ? { traceId: opts.traceId } : {}),
            limit: opts.limit,
          }),
        );
        if (o.json) {
          printJson(o, { operations: list });
          return;
        }
        const shortIds = uniquePrefixes(list.map((op) => op.id));
        printTable(
          o,
          ["ID", "STATE", "SYSTEM", "KIND", "TARGET", "ATTEMPTS", "ERROR"],
          list.map((op) => [
            shortIds.get(op.id),
            op.state,
            op.system,
            op.kind,
            op.entitlement ?? op.username,
            op.attempts,
            op.lastError,
          ]),
        );
      },
    );
  ops
    .command("retry <id>")
    .description("put a dead operation back in the queue (audited)")
    .action(async (id: string, _opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const op = await withStore(g, async ({ store }) => {
        const match = await operationRepository.findByIdPrefix(store.db, id);
        if (match.length === 0) throw new NotFoundError(`no operation has an id starting with "${id}"`);
        if (match.length > 1) {
          throw new UsageError(
            `"${id}" is the start of ${match.length === 10 ? "10 or more" : match.length} operation ids (${match
              .map((m) => m.id)
              .join(", ")}); give more of the id`,
          );
        }
        if (match[0]!.state !== "dead") {
          throw new UsageError(
            `operation ${match[0]!.id} is ${match[0]!.state}, not dead: only a dead one is retried`,
          );
        }
        return retryDeadOperation(store, match[0]!.id, { now: now(), actor: cliActor() });
      });
      if (o.json) printJson(o, { operation: op });
      else println(o, `operation ${op.id} is pending again`);
    });

  program
    .command("apply")
    .description("apply queued operations that are due (new ones and retries)")
    .option("--system <name>", "only this system")
    .action(async (opts: { system?: string }, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const progress = createProgress(!o.json, "apply");
      let done = 0;
      const result = await withStore(g, ({ config, store }) =>
        applyQueued(store, config, {
          now,
          actor: cliActor(),
          ...(opts.system !== undefined ? { system: opts.system } : {}),
          onProgress: () => progress.update(++done),
        }),
      );
      progress.stop();
      if (o.json) printJson(o, result);
      else {
        const s = result.summary;
        println(
          o,
          `applied: ${s.succeeded} succeeded (${s.changed} changed), ${s.failed} failed (will retry), ${s.dead} dead` +
            (s.awaiting > 0 ? `, ${s.awaiting} handed to people as tasks (tenure tasks list)` : ""),
        );
        for (const d of result.dead) {
          println(
            o,
            `  dead: ${d.system} ${d.kind} ${d.entitlement ?? d.username} after ${d.attempts} attempts: ${d.error ?? ""}`,
          );
        }
      }
      process.exitCode = runExitCode(result.summary);
    });
}

/** One line per holder of claims, saying whether the work is going on or waiting, and until when. */
function claimLines(claims: readonly ClaimStatus[]): string[] {
  return claims.map((c) => {
    const what = `${c.claims} ${c.table === "operations" ? "operation" : "notification"}${c.claims === 1 ? "" : "s"}`;
    const who = c.owner === null ? c.claimedBy : `process ${c.owner.pid} on ${c.owner.host}`;
    switch (c.holder) {
      case "dead":
        return (
          `claims waiting: ${what} held by ${who}, which is not running; taken back at the next start of ` +
          "tenure apply, sync or serve"
        );
      case "running":
        return `claims: ${what} being worked on by ${who}${c.expired > 0 ? `, ${c.expired} past their lease` : ""}`;
      default: {
        const where = c.holder === "elsewhere" ? " (another host)" : "";
        return c.expired > 0
          ? `claims waiting: ${what} held by ${who}${where}, ${c.expired} past their lease: taken over by the next worker run`
          : `claims: ${what} held by ${who}${where} until ${c.expiresAt}, unless it finishes first`;
      }
    }
  });
}
