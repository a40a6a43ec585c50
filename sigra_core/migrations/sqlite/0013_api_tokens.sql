ALTER TABLE sigra_sessions ADD COLUMN refresh_family INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sigra_sessions ADD COLUMN device_name TEXT;
