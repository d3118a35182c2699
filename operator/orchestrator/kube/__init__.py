"""Kubernetes API clients over one transport (transport.py: connections, credentials sent and
fetched again, JSON, the one error of errors.py): the operator's own (connection.py, with the
verbs on each kind in client.py and informer.py) and one acting as its caller (caller.py, for the
REST API and the kubectl plugin); how they log in is credentials.py's."""
