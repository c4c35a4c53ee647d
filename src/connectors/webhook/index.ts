export {
  createWebhookConnector,
  type WebhookOperationKind,
  type WebhookRequestBody,
  webhookOperationId,
} from "./webhook-connector.js";
export {
  parseWebhookConnectorConfig,
  type WebhookConnectorConfig,
  type WebhookConnectorConfigInput,
  webhookConnectorConfigSchema,
} from "./webhook-schemas.js";
export {
  computeWebhookSignature,
  SIGNATURE_HEADER,
  signWebhookBody,
  verifyWebhookSignature,
} from "./webhook-signature.js";
