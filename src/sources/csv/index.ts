export { type CsvReadOptions, readCsvSource } from "./csv-source.js";
