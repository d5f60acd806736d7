"""The ceiling for ``bench/stream.py``: a Faust worker that consumes, decodes, encodes and
produces each record, and does nothing else.

It is set up like the sahelwatch worker (raw-bytes topics, orjson, at-least-once, the
same Kafka client settings, broker and partitions), so the ratio of the two rates is the share of the
ceiling the pipeline keeps. Run by the bench: ``python bench/passthrough.py worker``
with PASSTHROUGH_BROKER, PASSTHROUGH_APP_ID, PASSTHROUGH_IN, PASSTHROUGH_OUT,
PASSTHROUGH_DATA_DIR and PASSTHROUGH_WEB_PORT set.
"""

from __future__ import annotations

import os

import faust
import mode.loop
import orjson
from faust.types import StreamT

from sahelwatch.streaming.app import INPUT_BUFFER, KAFKA_TUNING
from sahelwatch.streaming.consumer import use_worker_consumer

mode.loop.use("uvloop")  # as the sahelwatch worker does
app = faust.App(
    os.environ["PASSTHROUGH_APP_ID"],
    broker=f"kafka://{os.environ['PASSTHROUGH_BROKER']}",
    store="memory://",
    datadir=os.environ["PASSTHROUGH_DATA_DIR"],
    processing_guarantee="at_least_once",
    **KAFKA_TUNING,
    web_bind="127.0.0.1",
    web_port=int(os.environ["PASSTHROUGH_WEB_PORT"]),
)
use_worker_consumer(app.transport)
source = app.topic(
    os.environ["PASSTHROUGH_IN"],
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
    maxsize=INPUT_BUFFER,
)
sink = app.topic(
    os.environ["PASSTHROUGH_OUT"], key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
)


@app.agent(source, name="passthrough")
async def passthrough(stream: StreamT[bytes]) -> None:
    async for event in stream.events():
        await sink.send(key=event.message.key, value=orjson.dumps(orjson.loads(event.value or b"null")))


if __name__ == "__main__":
    app.main()
