/** Queue consumer for webhook deliveries (issue: outgoing webhooks). */
export async function deliverWebhookBatch(batch: MessageBatch, _env: Env): Promise<void> {
  batch.ackAll();
}
