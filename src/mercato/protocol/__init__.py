"""Beckn core 1.1: message models, actions, error codes and signing. Pure: no I/O."""
