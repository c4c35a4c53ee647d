import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

/**
 * The layers of src/, lowest first (docs/architecture.md). A module may import its own folder and any
 * folder of a lower rank; folders of the same rank are peers and may not import each other.
 */
export const LAYERS: Readonly<Record<string, number>> = {
  shared: 0,
  domain: 1,
  config: 2,
  store: 3,
  connectors: 3,
  audit: 4,
  notify: 5,
  policy: 6,
  sources: 7,
  engine: 8,
  workflows: 9,
  api: 10,
  demo: 10,
  web: 10,
  cli: 11,
};

/** Module → the modules it imports, both as paths relative to the root (e.g. `src/engine/apply.ts`). */
export type ImportGraph = ReadonlyMap<string, readonly string[]>;

/** Every non-test .ts module under `root/src` and its relative imports (type-only and dynamic too). */
export function readImportGraph(root: string): ImportGraph {
  const graph = new Map<string, string[]>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) {
        const info = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
        const targets = info.importedFiles
          .map((f) => f.fileName)
          .filter((spec) => spec.startsWith("."))
          .map((spec) => relative(root, resolve(dirname(path), spec.replace(/\.js$/, ".ts"))));
        graph.set(relative(root, path), targets);
      }
    }
  };
  walk(join(root, "src"));
  return graph;
}

/** The top folder under src/ a module belongs to: `src/engine/apply.ts` → `engine`. */
export function layerOf(module: string): string {
  return module.split("/")[1] ?? "";
}

/** Imports that go from a lower layer to a higher one or across peers, and folders with no rank. */
export function layerViolations(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const fromLayer = layerOf(from);
    const fromRank = LAYERS[fromLayer];
    if (fromRank === undefined) {
      problems.push(`${from}: src/${fromLayer} has no layer; add it to LAYERS and docs/architecture.md`);
      continue;
    }
    for (const to of targets) {
      const toLayer = layerOf(to);
      if (toLayer === fromLayer) continue;
      const toRank = LAYERS[toLayer];
      if (toRank === undefined || toRank >= fromRank) {
        const why = toRank === undefined ? "no layer" : toRank === fromRank ? "a peer" : "a higher layer";
        problems.push(
          `${from} imports ${to} (${toLayer} is ${why} than ${fromLayer})`.replace(
            "a peer than",
            "a peer of",
          ),
        );
      }
    }
  }
  return problems;
}

/** Every import circle, each as the modules along it (first repeated at the end). */
export function importCycles(graph: ImportGraph): string[][] {
  // Tarjan's strongly connected components: a component of more than one module, or a module that
  // imports itself, holds a circle; one path around it is reported.
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) cycles.push(pathAround(graph, component));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!indexOf.has(v)) visit(v);
  return cycles;
}

/** One circle through the members of a strongly connected component, found breadth-first. */
function pathAround(graph: ImportGraph, component: readonly string[]): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...component, component[0]!];
}
