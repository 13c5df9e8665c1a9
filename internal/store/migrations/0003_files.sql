-- 0003: files a user uploaded through coze2app, with the kind sniffed from
-- their bytes at upload, so a chat sends each to Coze as an image, audio or
-- file item without trusting the browser (coze-protocol E9). Independent of
-- 0002: migrations are applied by version, each once.
CREATE TABLE uploaded_files (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    id         TEXT   NOT NULL,
    kind       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, id)
);
CREATE INDEX uploaded_files_created_idx ON uploaded_files (created_at);
