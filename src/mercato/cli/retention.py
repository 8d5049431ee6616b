"""`mercato retention ...`"""

from __future__ import annotations

import typer

app = typer.Typer(help="Retention analytics: cohorts, RFM, customer-base models, CLV.", no_args_is_help=True)
