"""The kubectl plugin, kubectl adhoc."""
