#!/usr/bin/env bash
# CI: proves the installed C library works the way a user would use it.
# Installs with scripts/install.sh into a temporary prefix (reusing
# target/release when it is up to date), checks the layout and the soname,
# then builds and runs the C example with pkg-config and the C++ example
# with a CMake project (examples/cmake: find_package(seatbook) and
# seatbook::seatbook, shared, then static), with no LD_LIBRARY_PATH: the
# binaries find the installed library through their RPATH.
# Needs cc, c++, pkg-config, cmake and readelf.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
unset LD_LIBRARY_PATH

echo "-- scripts/install.sh --prefix $prefix"
scripts/install.sh --prefix "$prefix"

lib=$prefix/lib
version=$(sed -n 's/^Version: //p' "$lib/pkgconfig/seatbook.pc")
for f in include/seatbook.h include/seatbook.hpp lib/libseatbook.a \
  "lib/libseatbook.so.$version" lib/libseatbook.so \
  lib/cmake/seatbook/seatbookConfig.cmake lib/cmake/seatbook/seatbookConfigVersion.cmake; do
  [ -e "$prefix/$f" ] || { echo "missing after install: $f" >&2; exit 1; }
done
soname=$(readelf -d "$lib/libseatbook.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
case "$soname" in
  libseatbook.so.[0-9]*) ;;
  *) echo "libseatbook.so.$version has no versioned soname (got '$soname')" >&2; exit 1 ;;
esac
[ "$(readlink "$lib/$soname")" = "libseatbook.so.$version" ] ||
  { echo "$lib/$soname does not link to libseatbook.so.$version" >&2; exit 1; }
echo "-- soname $soname -> libseatbook.so.$version"

# A program must resolve seatbook from the prefix, not from elsewhere.
# (ldd's output is read whole first: with pipefail, `ldd | grep -q` fails
# whenever grep stops reading early and ldd dies of SIGPIPE.)
uses_prefix() {
  local deps
  deps=$(ldd "$1")
  grep -q "libseatbook.so.* => $lib/" <<<"$deps" ||
    { echo "$1 does not load libseatbook from $lib:" >&2; echo "$deps" >&2; exit 1; }
}

echo "-- C example with pkg-config"
export PKG_CONFIG_PATH=$lib/pkgconfig
# shellcheck disable=SC2046 # pkg-config output is a list of flags
cc -std=c11 -Wall -Wextra -Werror -Iexamples/c examples/c/booking_flow.c \
  $(pkg-config --cflags --libs seatbook) \
  -Wl,-rpath,"$(pkg-config --variable=libdir seatbook)" -o "$tmp/booking_flow_c"
uses_prefix "$tmp/booking_flow_c"
"$tmp/booking_flow_c" "$tmp/c.redb" --fast | tail -n 1

echo "-- C++ example with CMake, find_package(seatbook), shared"
cmake -S examples/cmake -B "$tmp/build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/build" >/dev/null
uses_prefix "$tmp/build/booking_flow_cpp"
"$tmp/build/booking_flow_cpp" "$tmp/cpp.redb" --fast | tail -n 1

echo "-- C++ example with CMake, SEATBOOK_STATIC=ON"
cmake -S examples/cmake -B "$tmp/build-static" -DCMAKE_PREFIX_PATH="$prefix" \
  -DSEATBOOK_STATIC=ON >/dev/null
cmake --build "$tmp/build-static" >/dev/null
static_deps=$(ldd "$tmp/build-static/booking_flow_cpp")
if grep -q libseatbook <<<"$static_deps"; then
  echo "the static build loads libseatbook.so" >&2
  exit 1
fi
"$tmp/build-static/booking_flow_cpp" "$tmp/cpp-static.redb" --fast | tail -n 1
echo "-- installed library checked"
