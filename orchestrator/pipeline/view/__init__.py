"""What the user sees of a batch: progress while it runs, the summary after, and the HTML report."""
