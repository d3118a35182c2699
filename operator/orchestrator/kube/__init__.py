"""Kubernetes API clients: the operator's own (client.py), one acting as its caller with their
token (caller.py, for the REST API and the kubectl plugin), and how both log in (credentials.py)."""
