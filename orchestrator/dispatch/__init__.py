"""The async dispatcher: concurrency, rate limits, retries, repairs, the usage ledger."""
