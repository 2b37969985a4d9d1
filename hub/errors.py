"""Errors the hub reports to a person at a terminal: one line that names the problem and the fix."""

from __future__ import annotations


class HubError(Exception):
    """A failure with a message fit to print as it is; the CLI prints it and exits non-zero."""

    exit_code = 1


class ConfigError(HubError):
    exit_code = 2


class StoreUnavailable(HubError):
    exit_code = 3


class NotMigrated(HubError):
    exit_code = 4
