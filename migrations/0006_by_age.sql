-- Messages by age: retention removes the oldest rows in bounded batches, and the admin stats
-- count the last hour's messages (docs/administration.md).
CREATE INDEX `messages_created` ON `messages` (`created_at`);
