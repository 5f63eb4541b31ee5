CREATE TABLE `thread_message_changes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`thread_id` text NOT NULL,
	`message_id` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `thread_message_changes_message` ON `thread_message_changes` (`message_id`);--> statement-breakpoint
CREATE INDEX `thread_message_changes_thread_id` ON `thread_message_changes` (`thread_id`,`id`);--> statement-breakpoint
CREATE INDEX `thread_post_keys_created_at` ON `thread_post_keys` (`created_at`);