"""Reading from Kafka (planned): models and DataFrames out of topics, consumer loops.

The mirror of ``flowodm.produce``, on the same client layer (``flowodm.kafka``): the connection's
``consumer_settings``, client logs and error classification are already there. Nothing is here
yet; ``Model.deserialize(bytes)`` decodes single messages in the meantime.
"""
