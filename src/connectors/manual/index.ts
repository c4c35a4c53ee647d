export { createManualConnector } from "./manual-connector.js";
export { type ManualConnectorConfig, manualConnectorConfigSchema } from "./manual-schemas.js";
