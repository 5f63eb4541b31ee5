CREATE TABLE `flow_instances` (
	`id` text PRIMARY KEY NOT NULL,
	`person_key` text NOT NULL,
	`identifier` text NOT NULL,
	`state` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`person_key`) REFERENCES `persons`(`key`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `flow_instances_person_idx` ON `flow_instances` (`person_key`,`created_at`);--> statement-breakpoint
CREATE TABLE `persons` (
	`key` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `step_instances` (
	`id` text PRIMARY KEY NOT NULL,
	`flow_id` text NOT NULL,
	`identifier` text NOT NULL,
	`state` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	FOREIGN KEY (`flow_id`) REFERENCES `flow_instances`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `step_instances_flow_idx` ON `step_instances` (`flow_id`,`created_at`);