#!/bin/sh
# SPDX-License-Identifier: MIT
# Run by `make dist` (dist-hook): every file git tracks under the test,
# example and benchmark directories must be in the tarball's tree $1, or the
# tarball's make check silently runs fewer tests than the checkout's.
# Outside a git checkout (a build from the tarball) there is nothing to
# compare with.
set -eu
srcdir=${srcdir:-.}
distdir=$1
git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1 || exit 0
missing=$(git -C "$srcdir" ls-files tests python/tests examples bench | while read -r f; do
	[ -e "$distdir/$f" ] || echo "$f"
done)
if [ -n "$missing" ]; then
	echo "dist: these tracked files are not in the tarball; add them to EXTRA_DIST"
	echo "(or a _SOURCES list) in their directory's local.mk:"
	echo "$missing" | sed 's/^/  /'
	exit 1
fi >&2
