-- Issue 13: webhook deliveries are kept for WEBHOOK_DELIVERY_RETENTION_DAYS (default 7), long enough for
-- senders' retries (most retry for up to 3 days); each new delivery removes a bounded batch of expired ones.
CREATE INDEX webhook_deliveries_received_at ON webhook_deliveries (received_at);
