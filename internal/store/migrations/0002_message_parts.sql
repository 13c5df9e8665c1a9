-- 0002: the parts of an assistant reply besides its answer text, so a reply
-- reads the same from the history as it did live (docs/stream-contract.md):
-- the bot's thinking, its card answers (a JSON array of our safe card shape)
-- and a workflow question with its options (a JSON object). '' = none.
ALTER TABLE messages ADD COLUMN reasoning TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN cards TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN question TEXT NOT NULL DEFAULT '';
