#!/bin/sh
# SPDX-License-Identifier: MIT
# membridge(1) errors: exit statuses (membridge(1) EXIT STATUS) and messages
# for bad names, sizes, options, missing segments and the wrong kind.
. "${srcdir:-.}/tests/cli-common.sh"

q=$(name q)
v=$(name v)
missing=$(name gone)

# Usage errors: 2, with a hint at --help.
expect 2 && has err "no command given"
expect 2 frobnicate
expect 2 info && has err "no segment NAME given"
expect 2 info "$q" "$v" && has err "more than one NAME given"
expect 2 info --bogus "$q" && has err "unknown option '--bogus'"
has err "Try 'membridge info --help'."
expect 2 pop --timeout && has err "option '--timeout' needs a value"
expect 0 info --help && has out "Usage: membridge info"

# Names: the library's rule, explained.
expect 2 info "" && has err "empty segment name ''"
expect 2 info / && has err "empty segment name '/'"
expect 2 info a/b && has err "invalid segment name 'a/b': only the leading character may be '/'"
expect 2 info .. && has err "invalid segment name '..'"
# The longest valid name is MEMBRIDGE_NAME_MAX characters with its '/'.
long=x
while [ ${#long} -lt $((name_max - 1)) ]; do long=${long}x; done
expect 3 info "$long"
expect 2 info "${long}x" && has err "is longer than $name_max characters"

# Sizes and values.
expect 2 create --ring 100 "$q" && has err "ring capacity 100 is not a power of two: use 64 or 128"
expect 2 create --ring 4 "$q" && has err "ring capacity 4 is too small: the smallest is 8"
expect 2 create --ring 0 "$q" && has err "invalid ring capacity '0'"
expect 2 create --ring -8 "$q"
expect 2 create --ring 1X "$q"
expect 2 create --view 10 --ring 8 "$q" && has err "give exactly one of --ring CAPACITY, --view BYTES and --channel BYTES"
expect 2 create --view 10 --mode 999 "$q" && has err "invalid mode '999'"
expect 2 pop --timeout soon "$q" && has err "invalid timeout 'soon'"
[ ! -e "/dev/shm$q" ] || fail "a refused create left $q"

# Missing segments: 3, and a pointer to list.
for cmd in info pop watch unlock; do
	expect 3 $cmd "$missing" && has err "no segment with this name exists"
done
expect 3 push "$missing" hi
expect 3 rm "$missing"
expect 0 rm -f "$missing"

# Exists: 6; --replace makes a new one.
expect 0 create --ring 64 "$q"
expect 6 create --ring 64 "$q"
expect 0 create --replace --ring 128 "$q"
expect 0 info "$q" && [ "$(field capacity)" = 128 ] || fail "--replace capacity: $(field capacity)"

# Messages that never fit: 2; a full ring: 5.
expect 2 push --raw "$q" "$(printf '%0200d' 0)" && has err "can never fit"
expect 0 push --raw "$q" "$(printf '%0100d' 0)"
expect 5 push --raw --timeout 0 "$q" "$(printf '%060d' 0)" && has err "no room for"
# A message that does not decode as the tag: 7.
expect 0 pop --raw "$q"
expect 0 push --raw "$q" ab
expect 7 pop --tag f64 "$q"

# The wrong kind: 7, saying what it is.
expect 0 create --view 64 "$v"
expect 7 pop "$v" && has err "not a ring"
expect 7 push "$v" hi
expect 7 watch -n 1 "$v" && has err "not a ring"
expect 7 unlock "$q" && has err "not a view"
finish
