"""The randomisation web service (IWRS): sites, roles, concealed atomic allocation,
emergency unblinding and a tamper-evident audit trail, on SQLite or PostgreSQL.

Installed with the ``server`` extra. Importing this package imports nothing heavy:
:func:`create_app` loads FastAPI only when it is called, so the command line stays fast.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def create_app(*args: Any, **kwargs: Any) -> Any:
    """Build the FastAPI application (:func:`oncotrial.server.app.create_app`)."""
    from oncotrial.server.app import create_app as factory

    return factory(*args, **kwargs)
