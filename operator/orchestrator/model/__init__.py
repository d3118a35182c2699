"""The pure model of an AdhocCommand: its spec rules, names, the Job it becomes, its status,
its stored output and history. No I/O: every module here is tested by tables of cases."""
