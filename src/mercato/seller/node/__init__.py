"""The seller node process: receiver, handlers, admin API, outbox delivery and registry onboarding."""

from .app import SellerNode, build_node

__all__ = ["SellerNode", "build_node"]
