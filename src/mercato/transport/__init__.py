"""Signed HTTP client and server helpers, ACK/NACK, registry lookup cache."""
