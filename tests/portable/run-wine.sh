#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a mingw-w64 build's portable test runner, and the single_process
# example, under wine64: headless, quiet (WINEDEBUG=-all), in a private
# WINEPREFIX inside that build tree. Prints the runner's PASS/FAIL line per
# case and how long the wine step took; exits with the runner's status.
# usage: run-wine.sh [MINGW-BUILD-DIR]   (default: the current directory,
#        as when make check runs it there; WINE=... picks the loader)
set -eu
build=$(cd "${1:-.}" && pwd)

wine=${WINE:-}
if [ -z "$wine" ]; then
	# Debian's wine64 package installs only /usr/lib/wine/wine64.
	for w in wine64 /usr/lib/wine/wine64 wine; do
		if command -v "$w" >/dev/null 2>&1; then
			wine=$(command -v "$w")
			break
		fi
	done
fi
if [ -z "$wine" ]; then
	echo "run-wine.sh: no wine64 found (Debian: apt-get install wine64)" >&2
	exit 1
fi
wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=wineserver

WINEPREFIX=$build/wineprefix
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG
unset DISPLAY WAYLAND_DISPLAY

# libtool keeps the real programs in .libs/; the DLL goes beside them.
for dir in tests/portable/.libs examples/.libs; do
	cp "$build/lib/.libs/libmembridge-1.dll" "$build/$dir/"
done

ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
"$wine" wineboot --init >"$build/wineboot.log" 2>&1 || true
booted=$(ms)
status=0
"$wine" "$build/tests/portable/.libs/runner.exe" || status=$?
if "$wine" "$build/examples/.libs/single_process.exe" >"$build/single_process.log" 2>&1; then
	echo "PASS: examples/single_process.exe ($(tail -n 1 "$build/single_process.log"))"
else
	echo "FAIL: examples/single_process.exe (see $build/single_process.log)"
	status=1
fi
end=$(ms)
"$wineserver" -k >/dev/null 2>&1 || true
echo "wine step: $((end - start)) ms ($((booted - start)) ms starting wine and its" \
	"prefix, $((end - booted)) ms running the runner and the example)"
exit "$status"
