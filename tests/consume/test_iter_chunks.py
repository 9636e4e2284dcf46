"""Iterators decode their fetched window a chunk at a time, as they hand messages out.

A whole window's models alive at once made the garbage collector's full collections the
largest cost of ``consume_iter`` (performance-findings §2); chunks keep few alive, and breaking
out in a later chunk still loses nothing that was fetched.
"""

from __future__ import annotations

import gc

from flowodm.consume.consumer import ITER_CHUNK
from flowodm.kafka.connection import Connection
from flowodm.sandbox import Sandbox
from flowodm.testing import TopicFactory
from tests.consume.helpers import committed, new_group
from tests.consume.models import order_model, orders

JOIN = 15.0  # first fetch of a new group member: the join takes about 3 s on Tansu
COUNT = 5 * ITER_CHUNK


def _alive(model: type) -> int:
    return sum(1 for obj in gc.get_objects() if type(obj) is model)


def test_only_one_chunk_of_models_is_decoded_ahead_of_the_caller(
    conn: Connection, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    order = order_model(topic, new_group())
    sent = orders(order, COUNT)
    order.produce_many(sent, connection=conn)
    del sent

    models = order.consume_iter(timeout=JOIN, max_messages=COUNT, connection=conn)
    first = next(models)
    ahead = _alive(order)  # the first model and what was decoded with it
    rest = list(models)

    assert ahead <= ITER_CHUNK
    assert [first.quantity, *(m.quantity for m in rest)] == list(range(COUNT))


def test_breaking_out_in_a_later_chunk_loses_nothing_of_the_fetched_batch(
    conn: Connection, sandbox: Sandbox, make_topic: TopicFactory
) -> None:
    topic = make_topic()
    group = new_group()
    order = order_model(topic, group)
    order.produce_many(orders(order, COUNT), connection=conn)
    stop = 2 * ITER_CHUNK + 3

    consumer = order.consumer(connection=conn)
    for message in consumer.iter(timeout=JOIN):
        if message.offset == stop:
            break
    rest = consumer.batch(COUNT, timeout=5)
    assert [m.offset for m in rest] == list(range(stop + 1, COUNT))
    consumer.commit()
    consumer.close()
    assert committed(sandbox.bootstrap_servers, group, topic) == {0: COUNT}
