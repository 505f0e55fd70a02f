"""The error of a case (or sweep) file that cannot be run."""


class CaseError(ValueError):
    """A case file that cannot be run; the message names the file, field and fix."""
