"""Model providers: one call each, registered through entry points."""
