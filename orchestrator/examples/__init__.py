"""Bundled example plan and format reference (mapped from plans/ and format_refs/)."""
