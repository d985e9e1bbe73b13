"""The one error type a user can cause: printed as a single line, exit code 2."""


class PipelineError(Exception):
    """A problem with the user's input or options: message names the file/column and the fix."""

    exit_code = 2
