"""The REST API (FastAPI) over AdhocCommands and its web page (ui/), acting as each caller."""
