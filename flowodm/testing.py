"""Pytest fixtures for FlowODM users and FlowODM's own tests (sandbox, topics, registry)."""
