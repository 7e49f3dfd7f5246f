"""``warmline db``: the store's schema revision, and upgrading it (Alembic, ``store.migrate``).

Every process also upgrades on start; running ``upgrade`` first, once, is what a deployment
does before rolling out new workers (so no worker waits on the migration lock).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from runtime.settings import load_settings
from store.db import create_store_engine
from store.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="Schema migrations of the store.", no_args_is_help=True)
console = Console()


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target revision.")] = "head",
) -> None:
    """Migrate the configured database (SQLite or PostgreSQL) to ``revision``."""
    engine = create_store_engine(load_settings().resolved_database_url)
    try:
        before = upgrade(engine, revision)
        with engine.connect() as conn:
            after = current_revision(conn)
    finally:
        engine.dispose()
    console.print(f"schema {before or 'unversioned'} -> {after}")


@app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest this release knows."""
    engine = create_store_engine(load_settings().resolved_database_url)
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
    finally:
        engine.dispose()
    console.print(f"database at {current or 'unversioned'}; newest {head_revision()}")
