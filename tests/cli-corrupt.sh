#!/bin/sh
# SPDX-License-Identifier: MIT
# membridge(1) on damaged segments: info reports a corrupt ring with status 7
# and says what is wrong; push and pop refuse it; unlock frees a stuck lock
# only when told to. The damage is written with dd into /dev/shm.
. "${srcdir:-.}/tests/cli-common.sh"

# The format stores integers in native byte order; this writes little-endian.
if [ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" != 1 ]; then
	echo "SKIP: the byte patterns here are little-endian"
	exit 77
fi
command -v dd >/dev/null || { echo "SKIP: no dd"; exit 77; }

# le BYTES VALUE: VALUE (< 2^32) as BYTES little-endian bytes.
le() {
	n=$1 v=$2 out=
	while [ "$n" -gt 0 ]; do
		out="$out\\$(printf '%03o' $((v % 256)))"
		v=$((v / 256))
		n=$((n - 1))
	done
	printf "$out"
}

# poke NAME OFFSET BYTES VALUE: overwrite part of segment NAME in place.
poke() {
	le "$3" "$4" | dd of="/dev/shm$1" bs=1 seek="$2" conv=notrunc 2>/dev/null ||
		fail "dd into /dev/shm$1"
}

q=$(name q)

# The case: a ring that delivered a message, then head 100 and tail
# 50 (ring header: head at 0, tail at 8, capacity at 16; SPEC §2).
expect 0 create --ring 4096 "$q"
expect 0 push "$q" one
expect 0 pop "$q"
poke "$q" 0 8 100
poke "$q" 8 8 50
expect 7 info "$q" && has err "the ring fails validation: head 100 is past tail 50"
[ "$(field verdict)" = "corrupt: head 100 is past tail 50" ] || fail "verdict: $(field verdict)"
[ "$(field kind)" = ring ] || fail "a corrupt ring's kind: $(field kind)"
expect 7 info --json "$q" && has out '"valid": false' && has out '"problem": "head 100 is past tail 50"'
listing && has out "corrupt: head 100 is past tail 50"
expect 7 pop "$q" && has err "its ring header is corrupt"
expect 7 push "$q" more && has err "its ring header is corrupt"

# More used than the capacity.
poke "$q" 0 8 0
poke "$q" 8 8 5000
expect 7 info "$q" && has err "used 5000 exceeds capacity 4096"

# A frame whose length claims more than was published: one 3-byte message,
# then its length rewritten to 300 (the frame header is at data offset 0,
# after the 24-byte ring header).
expect 0 create --replace --ring 4096 "$q"
expect 0 push --raw "$q" abc
poke "$q" 24 4 300
expect 7 info "$q" && has err "frame at index 0 claims 300 bytes, only 3 published"
[ "$(field tail)" = 7 ] || fail "tail of the corrupt ring: $(field tail)"
poke "$q" 8 8 6
expect 7 info "$q" && has err "frame at index 0 claims 300 bytes, only 2 published"
poke "$q" 8 8 2
expect 7 info "$q" && has err "frame header at index 0 is cut by tail 2"

# A ring-sized segment whose header does not carry a ring's capacity is not
# taken for a ring.
poke "$q" 16 8 8
expect 0 info "$q"
[ "$(field kind)" = view ] || fail "a ring with a bad capacity shows as: $(field kind)"

# A view whose lock an anonymous (-1) writer holds: unlock refuses (8), and
# frees it with --force.
v=$(name v)
expect 0 create --view 64 "$v"
poke "$v" 0 4 4294967295
expect 0 info "$v" && has out "lock: write-locked (anonymous writer -1)"
expect 8 unlock "$v"
expect 0 unlock --force "$v"
expect 0 info "$v" && [ "$(field lock)" = free ] || fail "lock after unlock --force: $(field lock)"
# Readers: refused too.
poke "$v" 0 4 2
expect 0 info "$v" && [ "$(field lock)" = "2 readers" ] || fail "two readers: $(field lock)"
expect 8 unlock "$v"
finish
