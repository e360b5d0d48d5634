"""The HTTP API on the master: control the streams, read the per-window results, the dashboard."""
