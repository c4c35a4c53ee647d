import type { Reporter, TestCase, TestModule } from "vitest/node";

/** One skipped test as the summary names it. */
export interface SkippedTest {
  /** The test file, relative to the project. */
  file: string;
  /** Its suites and name, joined with " > ". */
  name: string;
  /** Why, when the test said (`ctx.skip(note)`, or the suite's name for a missing server). */
  note: string | undefined;
}

/** The skipped tests of a run, in file order. */
export function skippedTests(modules: readonly TestModule[], root: string): SkippedTest[] {
  const out: SkippedTest[] = [];
  for (const module of modules) {
    const file = module.moduleId.startsWith(root) ? module.moduleId.slice(root.length + 1) : module.moduleId;
    for (const test of module.children.allTests()) {
      const result = test.result();
      if (result.state !== "skipped") continue;
      out.push({ file, name: fullName(test), note: result.note });
    }
  }
  return out;
}

function fullName(test: TestCase): string {
  return test.fullName;
}

/**
 * Names every skipped test at the end of a run (`default` reporter's count says only how many): a test
 * skipped for a missing server is visible, never silently dropped. Under CI=true such a test fails
 * instead (the helpers refuse to skip); this shows what is left (conformance cases a target does not
 * offer, the store-specific ones).
 */
export default class SkipSummaryReporter implements Reporter {
  private root = process.cwd();

  onInit(vitest: { config: { root: string } }): void {
    this.root = vitest.config.root;
  }

  onTestRunEnd(modules: readonly TestModule[]): void {
    const skipped = skippedTests(modules, this.root);
    if (skipped.length === 0) return;
    const lines = skipped.map((s) => `  - ${s.file} > ${s.name}${s.note ? ` (${s.note})` : ""}`);
    process.stdout.write(
      `\n${skipped.length} skipped test${skipped.length === 1 ? "" : "s"}:\n${lines.join("\n")}\n`,
    );
  }
}
