# SPDX-License-Identifier: MIT
"""Named cross-process shared memory over libmembridge.

SharedMemory names a segment; its map() gives a MappedView (sequential
reads and writes under a cross-process reader-writer lock, and the buffer
protocol) and its spsc() a SpscRingBuffer (a single-producer/single-consumer
message queue).
"""
from membridge._membridge import (
    CorruptSegmentError,
    MappedView,
    MessageDecodeError,
    MessageUnicodeError,
    SharedMemory,
    SpscRingBuffer,
    __version__,
    library_version,
)

__all__ = [
    "CorruptSegmentError",
    "MappedView",
    "MessageDecodeError",
    "MessageUnicodeError",
    "SharedMemory",
    "SpscRingBuffer",
    "__version__",
    "library_version",
]
