"""`mercato seller ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The seller role.", no_args_is_help=True)
