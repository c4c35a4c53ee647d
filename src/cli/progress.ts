import cliProgress from "cli-progress";

export interface Progress {
  update(done: number, total?: number, label?: string): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/**
 * A progress bar on stderr when it is a terminal and output is for people; nothing when piped
 * or with --json, so machine output stays clean.
 */
export function createProgress(enabled: boolean, title: string): Progress {
  if (!enabled || !process.stderr.isTTY) return silent;
  const bar = new cliProgress.SingleBar(
    {
      format: `${title} [{bar}] {value}/{total} {label}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label = "") {
      if (!started) {
        bar.start(total ?? Math.max(done, 1), done, { label });
        started = true;
      }
      if (total !== undefined) bar.setTotal(total);
      else if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
