ALTER TABLE sigra_user_tokens ADD COLUMN family_id BINARY(16) NULL;
ALTER TABLE sigra_user_tokens ADD COLUMN used_at DATETIME(6) NULL;
ALTER TABLE sigra_sessions ADD COLUMN remember_family BINARY(16) NULL;
CREATE TABLE IF NOT EXISTS sigra_known_devices (
    id BINARY(16) NOT NULL PRIMARY KEY,
    user_id BINARY(16) NOT NULL,
    browser VARCHAR(32) NOT NULL,
    os VARCHAR(32) NOT NULL,
    network VARCHAR(64) NOT NULL,
    last_seen_at DATETIME(6) NOT NULL,
    UNIQUE KEY sigra_known_devices_key (user_id, browser, os, network),
    CONSTRAINT sigra_known_devices_user_fk FOREIGN KEY (user_id) REFERENCES sigra_users (id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
