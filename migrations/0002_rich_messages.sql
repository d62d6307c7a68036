CREATE TABLE `attachments` (
	`id` text PRIMARY KEY NOT NULL,
	`room_id` text NOT NULL,
	`owner_id` text NOT NULL,
	`name` text NOT NULL,
	`size` integer NOT NULL,
	`mime_type` text NOT NULL,
	`width` integer,
	`height` integer,
	`created_at` text NOT NULL,
	`client_id` text,
	`claimed_at` text
);
--> statement-breakpoint
CREATE INDEX `attachments_room` ON `attachments` (`room_id`);--> statement-breakpoint
CREATE INDEX `attachments_unclaimed` ON `attachments` (`created_at`) WHERE client_id IS NULL;--> statement-breakpoint
ALTER TABLE `members` ADD `archived_at` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `reply_to_id` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `reactions` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `attachments` text;--> statement-breakpoint
ALTER TABLE `messages` ADD `rev` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Quotes are read from the quoted row from now on; keep only its id.
UPDATE `messages` SET `reply_to_id` = json_extract(`reply_to`, '$.id') WHERE `reply_to` IS NOT NULL;
