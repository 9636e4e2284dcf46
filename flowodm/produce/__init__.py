"""Everything that writes to Kafka: single messages, batches, their results and delivery reports.

``api`` is what ``FlowBaseModel``'s produce methods call; ``bulk.BulkSender`` serves
``produce_many`` and the DataFrame kit. Import its modules directly: this package loads nothing
on import.
"""
