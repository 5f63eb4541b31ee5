CREATE TABLE `poker_participants` (
	`session_id` text NOT NULL,
	`user_id` text NOT NULL,
	`name` text NOT NULL,
	`permissions` text NOT NULL,
	`joined_at` text NOT NULL,
	PRIMARY KEY(`session_id`, `user_id`),
	FOREIGN KEY (`session_id`) REFERENCES `poker_sessions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `poker_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`choices` text NOT NULL,
	`end_redirect_url` text NOT NULL,
	`active_story_id` text,
	`ended_at` text,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `poker_stories` (
	`id` text PRIMARY KEY NOT NULL,
	`session_id` text NOT NULL,
	`story_label` text NOT NULL,
	`description` text NOT NULL,
	`story_points` real,
	`position` integer NOT NULL,
	`revealed` integer DEFAULT false NOT NULL,
	`created_at` text NOT NULL,
	FOREIGN KEY (`session_id`) REFERENCES `poker_sessions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `poker_stories_session_position_idx` ON `poker_stories` (`session_id`,`position`);--> statement-breakpoint
CREATE TABLE `poker_votes` (
	`story_id` text NOT NULL,
	`user_id` text NOT NULL,
	`user_name` text NOT NULL,
	`choice` text NOT NULL,
	`voted_at` text NOT NULL,
	PRIMARY KEY(`story_id`, `user_id`),
	FOREIGN KEY (`story_id`) REFERENCES `poker_stories`(`id`) ON UPDATE no action ON DELETE no action
);
