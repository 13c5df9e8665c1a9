-- 0007: the history sidebar (issue 10 item 8). bot_icon_url is the bot's
-- icon as the page knew it when the conversation started ('' = none, the
-- page then shows a letter). pinned_at is when the user pinned it (0 = not
-- pinned; pinned ones list first). deleted_at is when the user deleted it
-- (0 = not deleted): a deleted conversation is hidden everywhere at once and
-- can be restored (Undo) until the sweep purges it for good.
ALTER TABLE conversations ADD COLUMN bot_icon_url TEXT NOT NULL DEFAULT '';
ALTER TABLE conversations ADD COLUMN pinned_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX conversations_deleted_idx ON conversations (deleted_at) WHERE deleted_at > 0;
