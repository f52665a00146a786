-- Issue 13: messages that reach a running case through POST /api/webhooks/:source/cases/:caseId/messages.
-- One row per delivery a source signed and the case accepted: a repeated X-Webhook-Delivery for the same
-- source answers the stored result instead of delivering the message again.
CREATE TABLE webhook_deliveries (
  source text NOT NULL,
  delivery_id text NOT NULL,
  case_id text NOT NULL,
  message text NOT NULL,
  result jsonb NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, delivery_id)
);
