CREATE TABLE `thread_attachments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`message_id` integer NOT NULL,
	`type` text NOT NULL,
	`title` text DEFAULT '' NOT NULL,
	`description` text DEFAULT '' NOT NULL,
	`url` text,
	`thumbnail` text,
	`options` text,
	`object_type` text,
	`object_id` text
);
--> statement-breakpoint
CREATE INDEX `thread_attachments_message` ON `thread_attachments` (`message_id`);--> statement-breakpoint
CREATE TABLE `thread_members` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`thread_id` text NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`roles` text DEFAULT '[]' NOT NULL,
	`state` text DEFAULT 'open' NOT NULL,
	`permissions` integer NOT NULL,
	`notifications` integer NOT NULL,
	`last_message_id` integer,
	`lang` text,
	`schema_id` text,
	`question_id` text,
	`initial_question_id` text,
	`related_message_id` integer,
	`on_finish` text DEFAULT 'open' NOT NULL,
	`frequency_unit` text,
	`frequency_value` integer,
	`repeat_until` text,
	`next_restart` text,
	`variables` text DEFAULT '{}' NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `thread_members_thread_user` ON `thread_members` (`thread_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `thread_members_user_updated` ON `thread_members` (`user_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `thread_messages` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`thread_id` text NOT NULL,
	`sender_id` text,
	`sender_name` text,
	`type` text NOT NULL,
	`text` text DEFAULT '' NOT NULL,
	`meta` text,
	`related_question_id` text,
	`answers` text,
	`deleted` integer DEFAULT false NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `thread_messages_thread_id` ON `thread_messages` (`thread_id`,`id`);--> statement-breakpoint
CREATE TABLE `thread_observers` (
	`user_id` text PRIMARY KEY NOT NULL,
	`thread_id` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `thread_observers_thread` ON `thread_observers` (`thread_id`);--> statement-breakpoint
CREATE TABLE `thread_unread` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`thread_id` text NOT NULL,
	`user_id` text NOT NULL,
	`message_id` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `thread_unread_message_user` ON `thread_unread` (`message_id`,`user_id`);--> statement-breakpoint
CREATE INDEX `thread_unread_user_thread` ON `thread_unread` (`user_id`,`thread_id`);--> statement-breakpoint
CREATE INDEX `thread_unread_thread` ON `thread_unread` (`thread_id`);--> statement-breakpoint
CREATE TABLE `threads` (
	`id` text PRIMARY KEY NOT NULL,
	`title` text DEFAULT '' NOT NULL,
	`type` text NOT NULL,
	`last_message_id` integer,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `threads_type_updated` ON `threads` (`type`,`updated_at`);