CREATE TABLE `chat_answers` (
	`id` text PRIMARY KEY NOT NULL,
	`schema_id` text NOT NULL,
	`question_id` text NOT NULL,
	`aid` integer NOT NULL,
	`text` text NOT NULL,
	`position` integer NOT NULL,
	`next_qid` integer,
	`exclusive` integer NOT NULL,
	`meta` text NOT NULL,
	`variables` text NOT NULL,
	FOREIGN KEY (`schema_id`) REFERENCES `chat_schemas`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`question_id`) REFERENCES `chat_questions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chat_answers_schema_aid` ON `chat_answers` (`schema_id`,`aid`);--> statement-breakpoint
CREATE INDEX `chat_answers_question` ON `chat_answers` (`question_id`);--> statement-breakpoint
CREATE TABLE `chat_questions` (
	`id` text PRIMARY KEY NOT NULL,
	`schema_id` text NOT NULL,
	`group_gid` integer,
	`qid` integer NOT NULL,
	`position` integer NOT NULL,
	`text` text NOT NULL,
	`type` text NOT NULL,
	`show_as_type` text NOT NULL,
	`required` integer NOT NULL,
	`next_qid` integer NOT NULL,
	`choice_open` integer NOT NULL,
	`range_from` real,
	`range_to` real,
	`meta` text NOT NULL,
	`variables` text NOT NULL,
	`fork` text NOT NULL,
	FOREIGN KEY (`schema_id`) REFERENCES `chat_schemas`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chat_questions_schema_qid` ON `chat_questions` (`schema_id`,`qid`);--> statement-breakpoint
CREATE UNIQUE INDEX `chat_questions_schema_position` ON `chat_questions` (`schema_id`,`position`);--> statement-breakpoint
CREATE TABLE `chat_schema_groups` (
	`id` text PRIMARY KEY NOT NULL,
	`schema_id` text NOT NULL,
	`gid` integer NOT NULL,
	`name` text NOT NULL,
	`position` integer NOT NULL,
	FOREIGN KEY (`schema_id`) REFERENCES `chat_schemas`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chat_schema_groups_schema_gid` ON `chat_schema_groups` (`schema_id`,`gid`);--> statement-breakpoint
CREATE TABLE `chat_schemas` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`type` text NOT NULL,
	`version` integer NOT NULL,
	`published` integer DEFAULT false NOT NULL,
	`deprecated` integer DEFAULT false NOT NULL,
	`default_lang` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`published_at` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `chat_schemas_name_version` ON `chat_schemas` (`name`,`version`);--> statement-breakpoint
CREATE INDEX `chat_schemas_type` ON `chat_schemas` (`type`);--> statement-breakpoint
CREATE TABLE `survey_items` (
	`id` text PRIMARY KEY NOT NULL,
	`survey_id` text NOT NULL,
	`question_id` text NOT NULL,
	`qid` integer NOT NULL,
	`answers` text NOT NULL,
	`text` text,
	`position` integer NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`survey_id`) REFERENCES `surveys`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`question_id`) REFERENCES `chat_questions`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `survey_items_survey_question` ON `survey_items` (`survey_id`,`question_id`);--> statement-breakpoint
CREATE TABLE `surveys` (
	`id` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`schema_id` text NOT NULL,
	`state` text NOT NULL,
	`created_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	`updated_at` text DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) NOT NULL,
	FOREIGN KEY (`schema_id`) REFERENCES `chat_schemas`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `surveys_user` ON `surveys` (`user_id`,`created_at`);