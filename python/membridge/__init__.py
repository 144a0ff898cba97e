# SPDX-License-Identifier: MIT
"""Named cross-process shared memory over libmembridge.

SharedMemory names a segment; its map() gives a MappedView (sequential
reads and writes under a cross-process reader-writer lock, and the buffer
protocol) and its spsc() a SpscRingBuffer (a single-producer/single-consumer
message queue). SharedMemory.create_channel() makes a zero-copy
publish/subscribe channel: one Publisher, several Subscribers, each
receiving every message as a Message read in place.

NAME_MAX is the longest segment name the library accepts, leading '/'
included (240; 16 on macOS). HAVE_DESCRIPTORS says whether the fileno()
methods give descriptors for event loops (Linux) or raise OSError with
errno ENOTSUP (macOS, Windows).
"""
from membridge._membridge import (
    HAVE_DESCRIPTORS,
    NAME_MAX,
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
    "HAVE_DESCRIPTORS",
    "NAME_MAX",
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
