-- 0008: small named values the app keeps for itself (issue 10 item 5). The
-- demo stores its simulator's state here, sealed, under "demo.sim", so a
-- restart keeps sign-ins, conversations, files and bots.
CREATE TABLE app_state (
    name       TEXT      PRIMARY KEY,
    value      {{bytes}} NOT NULL,
    updated_at BIGINT    NOT NULL
);
