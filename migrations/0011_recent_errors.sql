CREATE TABLE `recent_errors` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`request_id` text,
	`room` text,
	`event` text NOT NULL,
	`message` text NOT NULL
);
