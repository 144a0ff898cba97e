# SPDX-License-Identifier: MIT
"""Named cross-process shared memory over libmembridge.

SharedMemory names a segment; its map() gives a MappedView (sequential
reads and writes under a cross-process reader-writer lock, and the buffer
protocol) and its spsc() a SpscRingBuffer (a single-producer/single-consumer
message queue). SharedMemory.create_channel() makes a zero-copy
publish/subscribe channel: one Publisher, several Subscribers, each
receiving every message as a Message read in place.
"""
from membridge._membridge import (
    ChannelConfig,
    CorruptSegmentError,
    Loan,
    MappedView,
    Message,
    MessageDecodeError,
    MessageUnicodeError,
    Publisher,
    SharedMemory,
    SpscRingBuffer,
    Subscriber,
    SubscriberInfo,
    __version__,
    library_version,
)

__all__ = [
    "ChannelConfig",
    "CorruptSegmentError",
    "Loan",
    "MappedView",
    "Message",
    "MessageDecodeError",
    "MessageUnicodeError",
    "Publisher",
    "SharedMemory",
    "SpscRingBuffer",
    "Subscriber",
    "SubscriberInfo",
    "__version__",
    "library_version",
]
