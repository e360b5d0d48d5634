"""The API on the master: the window documents on HDFS and the registry in, HTTP answers out.

`app` is the Flask app (the original's contract, JSON on request, a token), `results` its in-memory
snapshot of the windows, `streams` the stream control behind an allow-list, `health` the components'
state, `openapi` the schema, `serve` the gunicorn runner; `static/dashboard.html` the dashboard.
"""
