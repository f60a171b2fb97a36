"""The package version, in one place (setup.cfg and the user agent read it from here)."""

__version__ = "0.2.0"
