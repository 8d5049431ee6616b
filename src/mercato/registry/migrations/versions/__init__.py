"""Registry migration revisions, oldest first."""
