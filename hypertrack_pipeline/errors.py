"""User-facing errors: the CLI prints their message on one line and exits non-zero."""


class UserError(Exception):
    """A mistake the user can fix (bad path, bad SQL, unreachable URL, bad option)."""
