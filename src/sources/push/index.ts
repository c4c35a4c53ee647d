export {
  checkPushedRecords,
  mapPushedRecords,
  type PushedRow,
  type PushMappingOptions,
  pushFieldNames,
  readPushSource,
  unknownPushFields,
} from "./push-source.js";
