export {
  checkPushedRecords,
  mapPushedRecords,
  pushFieldNames,
  readPushSource,
  unknownPushFields,
} from "./push-source.js";
