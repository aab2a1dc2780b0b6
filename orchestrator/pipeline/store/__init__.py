"""The batch folder on disk: ``batch.json``, item checkpoints, the ledger's book, and the writer that saves them."""
