-- 0004: issue 8 ("safe on the open internet").

-- The salt of the passphrase KDF (item 9). One row; the salt is not secret,
-- it lives beside the data so every instance derives the same key.
CREATE TABLE seal_salt (
    id         INTEGER   PRIMARY KEY CHECK (id = 1),
    salt       {{bytes}} NOT NULL,
    created_at BIGINT    NOT NULL
);

-- Pending sign-ins are capped per browser (item 2).
CREATE INDEX pending_sign_ins_binding_idx ON pending_sign_ins (binding_hash);
