"""Kubernetes API clients: the operator's own (connection.py, with the verbs on each kind in
client.py and informer.py), one acting as its caller with their token (caller.py, for the REST
API and the kubectl plugin), how both log in (credentials.py), and their one error (errors.py)."""
