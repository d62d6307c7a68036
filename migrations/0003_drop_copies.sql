ALTER TABLE `messages` DROP COLUMN `reply_to`;--> statement-breakpoint
ALTER TABLE `rooms` DROP COLUMN `last_message`;