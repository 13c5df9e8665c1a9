-- 0010: the salt of the passphrase KDF (issue 8 item 9). One row; the salt is
-- not secret, it lives beside the data so every instance derives the same key.
-- Numbered 0010 to stay clear of the migrations other branches add.
CREATE TABLE seal_salt (
    id         INTEGER   PRIMARY KEY CHECK (id = 1),
    salt       {{bytes}} NOT NULL,
    created_at BIGINT    NOT NULL
);
