ALTER TABLE `webhook_deliveries` ADD `ordering_key` text;--> statement-breakpoint
CREATE INDEX `webhook_deliveries_key_open` ON `webhook_deliveries` (`webhook_id`,`ordering_key`,`id`) WHERE "webhook_deliveries"."ordering_key" IS NOT NULL AND "webhook_deliveries"."status" IN ('pending', 'retrying');--> statement-breakpoint
ALTER TABLE `webhook_event_types` ADD `schema` text;--> statement-breakpoint
ALTER TABLE `webhook_events` ADD `ordering_key` text;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `signature` text DEFAULT 'hmac' NOT NULL;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `public_key` text;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `previous_secret_key` text;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `previous_secret_until` integer;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `failing_since` integer;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `disabled_event` text;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `rate_limit` real;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `pace` real;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `next_slot_at` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `slots_granted` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `webhooks` ADD `ordered` integer DEFAULT false NOT NULL;