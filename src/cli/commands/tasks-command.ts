import type { Command } from "commander";
import {
  alertOverdueTasks,
  type CloseTaskInput,
  cancelTask,
  completeTask,
  resolveTask,
  type TaskOutcome,
} from "../../engine/manual-tasks.js";
import { UsageError } from "../../shared/errors.js";
import type { Store } from "../../store/database.js";
import { type TaskRecord, taskRepository } from "../../store/task-repository.js";
import { cliActor, globalOptions, now, outputFor, withStore } from "../context.js";
import { type Output, printJson, println } from "../output.js";

/** A task as `tasks list` shows it: the row, how old it is and whether it is overdue at `at`. */
function view(task: TaskRecord, at: Date) {
  return {
    ...task,
    ageHours: Math.round((at.getTime() - Date.parse(task.createdAt)) / 360_000) / 10,
    overdue: task.state === "open" && Date.parse(task.dueAt) <= at.getTime(),
  };
}

function printTask(o: Output, t: ReturnType<typeof view>): void {
  const target = t.entitlement === null ? t.username : `${t.username} ${t.entitlement}`;
  const when =
    t.state === "open"
      ? `${t.ageHours} h old, due ${t.dueAt}${t.overdue ? " — OVERDUE" : ""}`
      : `${t.state} ${t.doneAt ?? ""} by ${t.doneBy ?? "?"}`;
  println(o, `${t.id}  ${t.system}  ${t.kind} ${target}  for ${t.fulfiller}  (${when})`);
  for (const line of t.instructions.split("\n")) println(o, `    ${line}`);
  if (t.note !== null) println(o, `    note: ${t.note}`);
}

/** Resolves the task a person names, closes it the way `close` does, and prints the outcome. */
async function closeTask<I extends { by: string }>(
  cmd: Command,
  ref: string,
  close: (store: Store, taskId: string, input: I & Omit<CloseTaskInput, "by">) => Promise<TaskOutcome>,
  input: I,
  print: (o: Output, outcome: TaskOutcome) => void,
): Promise<void> {
  const g = globalOptions(cmd);
  const o = outputFor(g);
  const outcome = await withStore(g, async ({ config, store }) => {
    const task = await resolveTask(store.db, ref);
    return close(store, task.id, { ...input, now: now(), recordedBy: cliActor(), notify: config });
  });
  if (o.json) printJson(o, outcome);
  else print(o, outcome);
}

export function registerTasks(program: Command): void {
  const tasks = program
    .command("tasks")
    .description("tasks for people: the operations of manual systems (applications with no API)");

  tasks
    .command("list")
    .description("open tasks, oldest due first, with their age, due time and instructions")
    .option("--system <name>", "only this system")
    .option("--overdue", "only tasks past their due time")
    .option("--all", "done and cancelled tasks too")
    .option("--limit <n>", "at most this many", (v) => Number.parseInt(v, 10), 1000)
    .action(
      async (opts: { system?: string; overdue?: boolean; all?: boolean; limit: number }, cmd: Command) => {
        if (!Number.isInteger(opts.limit) || opts.limit < 1)
          throw new UsageError("--limit: expected a whole number, at least 1");
        const g = globalOptions(cmd);
        const o = outputFor(g);
        const at = now();
        const list = await withStore(g, ({ store }) =>
          taskRepository.list(store.db, {
            state: opts.all === true ? "all" : "open",
            ...(opts.system === undefined ? {} : { system: opts.system }),
            ...(opts.overdue === true ? { dueBy: at } : {}),
            limit: opts.limit,
          }),
        );
        const views = list.map((t) => view(t, at)).filter((t) => opts.overdue !== true || t.overdue);
        if (o.json) {
          printJson(o, { tasks: views });
          return;
        }
        if (views.length === 0) {
          println(o, opts.all === true ? "no tasks" : "no open tasks");
          return;
        }
        for (const t of views) printTask(o, t);
        println(
          o,
          `${views.length} task(s); mark one done with: tenure tasks done ID --by NAME [--note TEXT]`,
        );
      },
    );

  tasks
    .command("done <id>")
    .description("record that a person did a task: its operation succeeds now, and the account changes")
    .requiredOption("--by <name>", "who did the work (recorded in the audit as user:NAME)")
    .option("--note <text>", "what they did or noticed (goes into the audit: never a password)")
    .action(async (ref: string, opts: { by: string; note?: string }, cmd: Command) => {
      await closeTask(
        cmd,
        ref,
        completeTask,
        { by: opts.by, note: opts.note ?? null },
        (o, { task, operation }) =>
          println(
            o,
            `task ${task.id} done by ${task.doneBy}: ${operation.kind} ${operation.entitlement ?? operation.username} in ${operation.system} succeeded at ${operation.finishedAt}`,
          ),
      );
    });

  tasks
    .command("cancel <id>")
    .description("cancel a task: its operation goes dead (a later plan queues it again if still wanted)")
    .requiredOption("--by <name>", "who cancels it (recorded in the audit as user:NAME)")
    .requiredOption("--reason <text>", "why (goes into the audit)")
    .action(async (ref: string, opts: { by: string; reason: string }, cmd: Command) => {
      await closeTask(cmd, ref, cancelTask, { by: opts.by, reason: opts.reason }, (o, { task, operation }) =>
        println(o, `task ${task.id} cancelled; operation ${operation.id} is dead`),
      );
    });

  tasks
    .command("remind")
    .description("alert about open tasks past their due time (once each): notify task.overdue, audit it")
    .action(async (_opts, cmd: Command) => {
      const g = globalOptions(cmd);
      const o = outputFor(g);
      const result = await withStore(g, ({ config, store }) =>
        alertOverdueTasks(store, config, now(), { actor: cliActor() }),
      );
      if (o.json) printJson(o, result);
      else {
        println(
          o,
          `${result.alerted.length} overdue task(s) alerted, ${result.notifications} notification(s) queued`,
        );
        for (const t of result.alerted)
          println(o, `  ${t.id}  ${t.system}  ${t.kind} ${t.username}  due ${t.dueAt}`);
      }
    });
}
