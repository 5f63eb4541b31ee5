CREATE TABLE `thread_post_keys` (
	`thread_id` text NOT NULL,
	`caller` text NOT NULL,
	`key` text NOT NULL,
	`message_id` integer NOT NULL,
	`fingerprint` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	PRIMARY KEY(`thread_id`, `caller`, `key`)
);
