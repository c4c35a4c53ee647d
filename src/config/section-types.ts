import type { SourceLocation } from "../domain/access-types.js";

/** A path into the YAML document: map keys as strings, list positions as numbers. */
export type NodePath = readonly (string | number)[];

/** What a section needs, beyond its own parsed value, to become part of `TenureConfig`. */
export interface SectionContext {
  /** Absolute folder of the config file; relative paths in it resolve against this. */
  readonly baseDir: string;
}

/** Whether a location is that of a mapping key (a definition's name) or of the value at the path. */
export type LocationTarget = "key" | "value";

/**
 * What the policy sections need besides the folder: where each definition was written, and a way to
 * report the problems only visible once every section has parsed (a grant naming a system that is
 * not configured). Reported problems make the whole load fail, with the same file:line:column form
 * as schema problems.
 */
export interface PolicyContext extends SectionContext {
  /** Where the node at `path` was written: its key (default) or its value. */
  locate(path: NodePath, target?: LocationTarget): SourceLocation;
  /** Records a problem at the node at `path`, at its key or (default) its value. */
  report(path: NodePath, message: string, target?: LocationTarget): void;
  /**
   * Records a problem in another file the section reads (an NHI inventory file), at `location` found
   * there; `path` is the key path inside that file.
   */
  reportAt(location: SourceLocation, path: NodePath, message: string): void;
}
