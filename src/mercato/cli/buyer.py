"""`mercato buyer ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The buyer role.", no_args_is_help=True)
