"""The pool coordinator role (``mercato pool serve``): clears demand pools that span manufacturers.

Anyone may run one. It takes signed offers from manufacturers' seller nodes and signed commitments
from buyer apps (checking each signer's key in the registry), clears each pool at its deadline with
the deterministic clearing of :mod:`mercato.pools`, and publishes the signed inputs and the result so
that anyone can re-run it (``mercato pool verify``). It talks to the other roles over HTTP only.
"""
