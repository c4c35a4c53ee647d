export { createManualConnector, DEFAULT_INSTRUCTIONS } from "./manual-connector.js";
export {
  MANUAL_KINDS,
  type ManualConnectorConfig,
  type ManualConnectorConfigInput,
  type ManualKind,
  manualConnectorConfigSchema,
  PLACEHOLDERS,
  parseManualConnectorConfig,
} from "./manual-schemas.js";
