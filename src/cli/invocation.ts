import path from "node:path";

/**
 * How to run Tenure again from where it runs now, for the hints commands print: `tenure` when it was
 * started through its installed bin (npm install -g, npx, a package's node_modules/.bin), and
 * `node dist/cli/main.js` (relative to the folder it was started in) when run from a clone by path,
 * as `npm run demo` does — there `tenure` and `npx tenure` name nothing.
 */
export function tenureCommand(
  argv1: string | undefined = process.argv[1],
  cwd: string = process.cwd(),
): string {
  if (argv1 === undefined || !/[\\/]dist[\\/]cli[\\/]main\.js$/.test(argv1)) return "tenure";
  // An installed package runs its bin through a link named tenure; the link resolves to …/dist/cli/main.js
  // inside node_modules.
  if (/[\\/]node_modules[\\/]/.test(argv1)) return "tenure";
  const relative = path.relative(cwd, argv1);
  return `node ${relative.startsWith("..") || path.isAbsolute(relative) ? argv1 : relative}`;
}
