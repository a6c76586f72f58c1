"""Driver errors that mean the harness (not the target) failed."""


class HarnessError(RuntimeError):
    """The suite could not talk to the target (unreachable, misconfigured, suite bug).

    Reported as `error`, never as a target deviation."""
