CREATE TABLE `idempotency_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`request` text NOT NULL,
	`fingerprint` text NOT NULL,
	`created_at` integer NOT NULL,
	`lock` text,
	`locked_at` integer,
	`created_ref` text,
	`status` integer,
	`content_type` text,
	`body` text
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_created_at` ON `idempotency_keys` (`created_at`);--> statement-breakpoint
DROP TABLE `thread_post_keys`;