-- Per-hook signature scheme (hmac `v1,` or ed25519 `v1a,`) and secret rotation with an overlap.
ALTER TABLE `webhooks` ADD `signature` text DEFAULT 'hmac' NOT NULL;
--> statement-breakpoint
ALTER TABLE `webhooks` ADD `public_key` text;
--> statement-breakpoint
ALTER TABLE `webhooks` ADD `previous_secret_key` text;
--> statement-breakpoint
ALTER TABLE `webhooks` ADD `previous_secret_until` integer;
