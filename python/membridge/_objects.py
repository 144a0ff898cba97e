# SPDX-License-Identifier: MIT
"""Objects as pickle protocol 5 over multi-part messages, for
Publisher.publish_object(), Subscriber.receive_object() and
Message.object(). The message framing is the library's (membridge_parts(3),
in the extension): here only the pickle side. Loaded on first use.

Unpickling runs code the publisher chose: receive objects only from a
publisher you trust.
"""
import pickle


def dumps(obj):
    """The parts of obj: its pickle, then the raw bytes of each out-of-band
    buffer (memoryviews of the object's own memory: no copy here)."""
    buffers = []
    stream = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return [stream, *(buf.raw() for buf in buffers)]


def loads(parts, copy):
    """The object in parts (memoryviews into a message). Without copy its
    buffers are those memoryviews, so arrays in it are views of the message;
    with copy each is copied into a bytearray (writable, owned) first."""
    stream, buffers = parts[0], parts[1:]
    if copy:
        owned = [bytearray(buf) for buf in buffers]
        for buf in buffers:
            buf.release()
        buffers = owned
    try:
        return pickle.loads(stream, buffers=buffers)
    finally:
        stream.release()
