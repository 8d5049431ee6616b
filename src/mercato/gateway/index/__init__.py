"""The catalog index: signed publications stored and searchable (SQLite FTS5 or PostgreSQL)."""
