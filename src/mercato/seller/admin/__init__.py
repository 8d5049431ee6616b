"""The merchant admin API under ``/admin`` (bearer token; see :mod:`.api`)."""
