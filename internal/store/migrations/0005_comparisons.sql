-- 0005: comparisons (issue 12): several bots side by side, kept in history as
-- one item. Each column is a conversation of its own (in conversations); this
-- row only says which, in order. cols_json is [{bot_id, bot_name,
-- conversation_id}]. Portable SQL for SQLite and PostgreSQL alike.
CREATE TABLE comparisons (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL,
    title      TEXT   NOT NULL,
    cols_json  TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX comparisons_user_updated_idx ON comparisons (user_id, updated_at);
