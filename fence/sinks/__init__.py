"""Event sinks: at-least-once delivery from the store's persisted outbox.

The evaluator thread only writes events (and their outbox rows) to the store; one
``SinkWorker`` thread per configured output reads its rows in order, hands them to a
``Deliverer`` (MQTT, webhook, JSON Lines file) and deletes them once delivered. A failed
attempt is retried with doubling backoff; nothing behind it overtakes it. A slow or
dead sink therefore never stalls the evaluator, and an event raised while a sink is down
is delivered when it is back, also after an engine restart.
"""
