"""The runtime: durable jobs (DBOS), schedules, the web app and the commands that run them.

DBOS is imported only inside this package (`runtime/jobs.py`); the engine and the flows do not know it.
"""
