# SPDX-License-Identifier: MIT
# Manual pages: one page per family in section 3, one-line .so link pages
# for every other function, the overview membridge(7), and membridge(1) for
# the command-line tool in tools/.
# membridge(1) goes with the tool, which Windows builds do not have.
if !MB_WINDOWS
dist_man1_MANS = man/membridge.1
endif
dist_man3_MANS = \
	man/membridge_segment.3 \
	man/membridge_view.3 \
	man/membridge_view_lock.3 \
	man/membridge_spsc.3 \
	man/membridge_channel.3 \
	man/membridge_codec.3 \
	man/membridge_array.3 \
	man/membridge_parts.3 \
	man/membridge_inspect.3 \
	man/membridge_strerror.3 \
	man/membridge_channel_config.3 \
	man/membridge_channel_init.3 \
	man/membridge_channel_inspect.3 \
	man/membridge_channel_record_size.3 \
	man/membridge_channel_segment_size.3 \
	man/membridge_array_message_size.3 \
	man/membridge_array_read.3 \
	man/membridge_array_write.3 \
	man/membridge_decode.3 \
	man/membridge_encode.3 \
	man/membridge_encoded_size.3 \
	man/membridge_name_check.3 \
	man/membridge_parts_message_size.3 \
	man/membridge_parts_read.3 \
	man/membridge_parts_write.3 \
	man/membridge_publisher_abort.3 \
	man/membridge_publisher_close.3 \
	man/membridge_publisher_evict.3 \
	man/membridge_publisher_fd.3 \
	man/membridge_publisher_loan.3 \
	man/membridge_publisher_open.3 \
	man/membridge_publisher_publish.3 \
	man/membridge_publisher_send.3 \
	man/membridge_publisher_send_batch.3 \
	man/membridge_publisher_sendv.3 \
	man/membridge_publisher_shrink.3 \
	man/membridge_publisher_subscribers.3 \
	man/membridge_segment_close.3 \
	man/membridge_segment_create.3 \
	man/membridge_segment_data.3 \
	man/membridge_segment_is_creator.3 \
	man/membridge_segment_name.3 \
	man/membridge_segment_open.3 \
	man/membridge_segment_remove.3 \
	man/membridge_segment_size.3 \
	man/membridge_spsc_capacity.3 \
	man/membridge_spsc_close.3 \
	man/membridge_spsc_consume.3 \
	man/membridge_spsc_count_frames.3 \
	man/membridge_spsc_frame_size.3 \
	man/membridge_spsc_inspect.3 \
	man/membridge_spsc_is_empty.3 \
	man/membridge_spsc_is_full.3 \
	man/membridge_spsc_open.3 \
	man/membridge_spsc_peek.3 \
	man/membridge_spsc_pop.3 \
	man/membridge_spsc_pop_batch.3 \
	man/membridge_spsc_push.3 \
	man/membridge_spsc_push_batch.3 \
	man/membridge_spsc_pushv.3 \
	man/membridge_spsc_segment_size.3 \
	man/membridge_spsc_space.3 \
	man/membridge_spsc_data_fd.3 \
	man/membridge_spsc_space_fd.3 \
	man/membridge_spsc_used.3 \
	man/membridge_subscriber_close.3 \
	man/membridge_subscriber_fd.3 \
	man/membridge_subscriber_open.3 \
	man/membridge_subscriber_read.3 \
	man/membridge_subscriber_receive.3 \
	man/membridge_subscriber_receive_batch.3 \
	man/membridge_subscriber_release.3 \
	man/membridge_subscriber_release_until.3 \
	man/membridge_subscriber_slot.3 \
	man/membridge_type_from_name.3 \
	man/membridge_type_name.3 \
	man/membridge_version.3 \
	man/membridge_version_number.3 \
	man/membridge_view_break_lock.3 \
	man/membridge_view_close.3 \
	man/membridge_view_data.3 \
	man/membridge_view_inspect.3 \
	man/membridge_view_is_write_locked.3 \
	man/membridge_view_lock_read.3 \
	man/membridge_view_lock_write.3 \
	man/membridge_view_open.3 \
	man/membridge_view_read.3 \
	man/membridge_view_read_bytes.3 \
	man/membridge_view_reader_count.3 \
	man/membridge_view_seek.3 \
	man/membridge_view_set_timeout.3 \
	man/membridge_view_size.3 \
	man/membridge_view_tell.3 \
	man/membridge_view_unlock.3 \
	man/membridge_view_write.3 \
	man/membridge_view_write_bytes.3 \
	man/membridge_view_zero.3
dist_man7_MANS = man/membridge.7

# Every exported function has a page, every page names real functions,
# and mandoc -T lint -W warning is silent on every real page (membridge.1 too).
EXTRA_DIST += tests/man-check.sh
if !MB_WINDOWS
TESTS += tests/man-check.sh
endif
