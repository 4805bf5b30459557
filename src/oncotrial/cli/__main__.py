"""``python -m oncotrial.cli``: the same command line as the ``oncotrial`` script."""

from oncotrial.cli import app

app(prog_name="oncotrial")
