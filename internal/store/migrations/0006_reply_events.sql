-- 0006: the events of replies in progress, shared by the instances on one
-- PostgreSQL database (issue 13, "several instances act as one"). The
-- instance reading a reply from Coze appends each of our stream events
-- (docs/stream-contract.md) with the id its browsers saw; another instance
-- relays them from here after a Last-Event-ID. chat_key names the reply
-- ("chat:<chat id>"). Rows are deleted about an hour after they were written.
-- SQLite runs one instance and never writes here.
CREATE TABLE reply_events (
    chat_key   TEXT      NOT NULL,
    id         BIGINT    NOT NULL,
    user_id    BIGINT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT      NOT NULL,
    data       {{bytes}} NOT NULL,
    created_at BIGINT    NOT NULL,
    PRIMARY KEY (chat_key, id)
);
CREATE INDEX reply_events_created_idx ON reply_events (created_at);
