export { createWebhookConnector, type WebhookRequestBody, webhookOperationId } from "./webhook-connector.js";
export {
  parseWebhookConnectorConfig,
  type WebhookConnectorConfig,
  type WebhookConnectorConfigInput,
  webhookConnectorConfigSchema,
} from "./webhook-schemas.js";
export { signWebhookBody, verifyWebhookSignature } from "./webhook-signature.js";
