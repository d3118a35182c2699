"""The REST API of the project's first days (POST /jobs, GET /jobs/...), kept as a thin layer over
AdhocCommands. It holds no privileges: each request acts with the caller's own Kubernetes token."""
