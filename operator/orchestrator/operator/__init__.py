"""The operator: kopf hosts it (handlers.py is where kopf meets this code); its own informers,
cache and work queue feed the reconciler; one replica leads."""
