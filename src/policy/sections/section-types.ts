/** What a section needs, beyond its own parsed value, to become part of `TenureConfig`. */
export interface SectionContext {
  /** Absolute folder of the config file; relative paths in it resolve against this. */
  readonly baseDir: string;
}
