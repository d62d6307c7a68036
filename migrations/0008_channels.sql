-- Notification channels (src/notify/, docs/notifications.md): each user's preferences, the local
-- email outbox, browsers' Web Push subscriptions (and which ones a retried push already reached),
-- and the keys dev mode makes for itself.
CREATE TABLE `dev_keys` (
	`name` text PRIMARY KEY NOT NULL,
	`value` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `email_outbox` (
	`id` text PRIMARY KEY NOT NULL,
	`from_addr` text NOT NULL,
	`to_addr` text NOT NULL,
	`subject` text NOT NULL,
	`text` text NOT NULL,
	`html` text,
	`headers` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `email_outbox_created` ON `email_outbox` (`created_at`);--> statement-breakpoint
CREATE TABLE `notification_preferences` (
	`user_id` text PRIMARY KEY NOT NULL,
	`in_app` integer NOT NULL,
	`email` text NOT NULL,
	`push` integer NOT NULL,
	`muted_rooms` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `push_sent` (
	`push_id` text NOT NULL,
	`endpoint` text NOT NULL,
	`sent_at` text NOT NULL,
	PRIMARY KEY(`push_id`, `endpoint`)
);
--> statement-breakpoint
CREATE INDEX `push_sent_at` ON `push_sent` (`sent_at`);--> statement-breakpoint
CREATE TABLE `push_subscriptions` (
	`endpoint` text PRIMARY KEY NOT NULL,
	`user_id` text NOT NULL,
	`p256dh` text NOT NULL,
	`auth` text NOT NULL,
	`expiration_time` integer,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `push_subscriptions_user` ON `push_subscriptions` (`user_id`,`created_at`);