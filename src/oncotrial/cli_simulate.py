"""``oncotrial simulate ...``: the in-silico trial commands.

The commands live in one module each (``cli_simulate_*``) and register themselves on
:data:`simulate_app` when imported at the bottom of this module.
"""

from __future__ import annotations

import typer

simulate_app = typer.Typer(no_args_is_help=True,
                           help="In-silico trials: replicas, calibration and operating characteristics.")

# command modules (each registers on simulate_app)
from oncotrial import cli_simulate_power  # noqa: E402,F401
from oncotrial import cli_simulate_calibrate  # noqa: E402,F401
from oncotrial import cli_simulate_trial  # noqa: E402,F401
