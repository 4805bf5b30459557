"""oncotrial: design, randomise, run and analyse randomised oncology trials."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("oncotrial")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
