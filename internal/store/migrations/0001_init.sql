-- 0001: initial schema. {{id}} and {{bytes}} are replaced per dialect
-- (dialect.go). Times are BIGINT Unix milliseconds; 0 means unset.

CREATE TABLE users (
    id           {{id}},
    coze_user_id TEXT   NOT NULL,
    region       TEXT   NOT NULL,
    name         TEXT   NOT NULL DEFAULT '',
    avatar_url   TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (coze_user_id, region)
);

-- Only sha256 of the cookie secret is kept (STYLE rule 9).
CREATE TABLE sessions (
    id           TEXT    PRIMARY KEY,
    user_id      BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret_hash  {{bytes}} NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX sessions_last_seen_idx ON sessions (last_seen_at);

CREATE TABLE pending_sign_ins (
    state        TEXT    PRIMARY KEY,
    binding_hash {{bytes}} NOT NULL,
    verifier     {{bytes}} NOT NULL,
    return_to    TEXT    NOT NULL DEFAULT '',
    workspace_id TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
CREATE INDEX pending_sign_ins_expires_idx ON pending_sign_ins (expires_at);

-- One row per user; access and refresh are sealed ciphertext written together
-- in one statement, so a crash leaves the old pair or the new pair.
CREATE TABLE coze_tokens (
    user_id            BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id             TEXT    NOT NULL,
    access             {{bytes}} NOT NULL,
    refresh            {{bytes}} NOT NULL,
    access_expires_at  BIGINT  NOT NULL,
    refresh_expires_at BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

-- Keyed by (user_id, id): a Coze conversation id only ever means something
-- inside its owner's history.
CREATE TABLE conversations (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL,
    bot_id     TEXT   NOT NULL DEFAULT '',
    bot_name   TEXT   NOT NULL DEFAULT '',
    title      TEXT   NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX conversations_user_updated_idx ON conversations (user_id, updated_at);
CREATE INDEX conversations_user_bot_updated_idx ON conversations (user_id, bot_id, updated_at);

CREATE TABLE messages (
    id              {{id}},
    user_id         BIGINT NOT NULL,
    conversation_id TEXT   NOT NULL,
    role            TEXT   NOT NULL,
    content         TEXT   NOT NULL DEFAULT '',
    chat_id         TEXT   NOT NULL DEFAULT '',
    status          TEXT   NOT NULL DEFAULT '',
    error_code      TEXT   NOT NULL DEFAULT '',
    follow_ups      TEXT   NOT NULL DEFAULT '',
    usage           {{bytes}},
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    FOREIGN KEY (user_id, conversation_id) REFERENCES conversations (user_id, id) ON DELETE CASCADE
);
-- Serves Messages (in order) and the per-conversation EXISTS of the search.
CREATE INDEX messages_user_conv_idx ON messages (user_id, conversation_id, id);
CREATE INDEX messages_user_chat_idx ON messages (user_id, chat_id);
