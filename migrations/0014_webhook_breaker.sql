-- Contract §6 breaker: a hook failing continuously for DISABLE_AFTER_HOURS is disabled.
-- failing_since: epoch ms of the first failed attempt with no success after it (null when healthy).
ALTER TABLE `webhooks` ADD `failing_since` integer;--> statement-breakpoint
-- disabled_event: the uuid of the webhook.endpoint_disabled event of the latest automatic disable,
-- written by the disabling statement itself so the event is recorded only by the batch that disabled.
ALTER TABLE `webhooks` ADD `disabled_event` text;
