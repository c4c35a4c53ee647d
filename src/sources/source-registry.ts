import type { SourceConfig } from "../policy/config-types.js";
import { readCsvSource } from "./csv/index.js";
import { readPushSource } from "./push/index.js";
import type { KnownPerson, SourceReadResult } from "./source-types.js";

export interface ReadOptions {
  known: KnownPerson[];
  onProgress?: (rowsRead: number) => void;
}

/** Reads a configured authoritative source, whatever its type. One entry per source folder. */
export async function readSource(config: SourceConfig, options: ReadOptions): Promise<SourceReadResult> {
  switch (config.type) {
    case "csv":
      return readCsvSource(config, options);
    case "push":
      return readPushSource(config);
  }
}
