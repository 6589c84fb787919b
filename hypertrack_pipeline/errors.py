"""User-facing errors: the CLI prints their message on one line and exits non-zero."""


class UserError(Exception):
    """A mistake the user can fix (bad path, bad SQL, unreachable URL, bad option)."""


class RunFailed(Exception):
    """A pipeline run failed (not a user mistake): reported in one line, details kept in the run."""
