"""A whole local network on loopback: `mercato up` and `mercato demo`. Talks to roles only over HTTP."""
