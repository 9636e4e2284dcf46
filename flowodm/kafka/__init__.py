"""The client layer both directions share: connection config, clients, logs, error classification.

Producing (``flowodm.produce``) and consuming (``flowodm.consume``) build on it; it knows nothing
of either. Import its modules directly: this package loads nothing on import.
"""
