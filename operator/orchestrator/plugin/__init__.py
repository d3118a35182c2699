"""The kubectl plugin, kubectl adhoc."""

import sys

INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C


def entry() -> None:
    """The console script. Ctrl-C while the plugin still loads ends it as it ends kubectl: quietly,
    with 130 (not a traceback of whichever import it stopped)."""
    try:  # imported here: loading is what this Ctrl-C stops
        from orchestrator.plugin.cli import entry as run
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
    run()
