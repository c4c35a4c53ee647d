export { readCsvSource } from "./csv-source.js";
