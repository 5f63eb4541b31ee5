CREATE TABLE `live_rooms` (
	`kind` text NOT NULL,
	`id` text NOT NULL,
	`sockets` integer NOT NULL,
	`shards` integer DEFAULT 1 NOT NULL,
	`messages_24h` integer,
	`last_event_at` integer,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`kind`, `id`)
);
--> statement-breakpoint
CREATE INDEX `live_rooms_kind_sockets` ON `live_rooms` (`kind`,`sockets`);--> statement-breakpoint
CREATE INDEX `live_rooms_updated` ON `live_rooms` (`updated_at`);