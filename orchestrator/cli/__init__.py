"""The thin click command layer."""
