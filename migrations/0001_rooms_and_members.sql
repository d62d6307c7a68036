CREATE TABLE `members` (
	`room_id` text NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`joined_at` text NOT NULL,
	`last_read_seq` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`room_id`, `user_id`)
);
--> statement-breakpoint
CREATE INDEX `members_user` ON `members` (`user_id`,`room_id`);--> statement-breakpoint
CREATE TABLE `rooms` (
	`id` text PRIMARY KEY NOT NULL,
	`kind` text NOT NULL,
	`title` text,
	`created_by` text,
	`created_at` text NOT NULL,
	`last_seq` integer DEFAULT 0 NOT NULL,
	`last_message` text,
	`last_activity_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `rooms_kind` ON `rooms` (`kind`,`last_activity_at`);--> statement-breakpoint
-- The one room every member belongs to.
INSERT INTO `rooms` (`id`, `kind`, `title`, `created_at`, `last_activity_at`)
VALUES ('community', 'community', 'Community', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
