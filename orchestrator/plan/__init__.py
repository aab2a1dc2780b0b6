"""Plan model, parser and checks: the pure core that reads plan files."""
