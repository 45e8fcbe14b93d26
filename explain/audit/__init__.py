"""The audit trail: records, the hash-chained store, replay, the compliance report and its charts."""
