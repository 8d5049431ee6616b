"""`mercato gateway ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="The gateway role.", no_args_is_help=True)
