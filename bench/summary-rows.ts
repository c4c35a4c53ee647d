/**
 * Every row of the summary table in docs/performance.md, in the table's order: the benchmarks any issue
 * names, each figure beside its goal (and its floor where the bench measures one). `npm run bench` runs
 * them (bench/run.ts); a new bench adds its rows here.
 */
import { CONSOLE_ROWS } from "./summary-rows-console.js";
import { ENGINE_ROWS } from "./summary-rows-engine.js";
import type { SummaryRow } from "./summary-types.js";

export const SUMMARY_ROWS: readonly SummaryRow[] = [...ENGINE_ROWS, ...CONSOLE_ROWS];
