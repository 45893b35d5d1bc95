#!/usr/bin/env bash
# Installs the seatbook C library under a prefix (Linux):
#
#   <prefix>/include/seatbook.h, seatbook.hpp       the C API, the C++ wrapper
#   <libdir>/libseatbook.so.<version>                the shared library, with
#   <libdir>/libseatbook.so.<abi> -> ...<version>    its soname link and
#   <libdir>/libseatbook.so -> ...<abi>              its link-time link
#   <libdir>/libseatbook.a                           the static library
#   <libdir>/pkgconfig/seatbook.pc                   pkg-config
#   <libdir>/cmake/seatbook/seatbookConfig.cmake     CMake package:
#   <libdir>/cmake/seatbook/seatbookConfigVersion.cmake  seatbook::seatbook
#
# <abi> is the soname's version (build.rs): 0.<minor> before 1.0, then the
# major version. Usage:
#
#   scripts/install.sh [--prefix DIR] [--libdir DIR] [--destdir DIR] [--no-build]
#
#   --prefix DIR   where the files go (default /usr/local)
#   --libdir DIR   the library directory (default PREFIX/lib)
#   --destdir DIR  stage the files under DIR (for packagers); the installed
#                  .pc and CMake files still name PREFIX
#   --no-build     use target/release as it is instead of running
#                  `cargo build --release --lib` first
#
# Run `ldconfig` afterwards when installing into a system library directory.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local
libdir=
destdir=
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix=${2:?--prefix needs a directory}; shift 2 ;;
    --prefix=*) prefix=${1#*=}; shift ;;
    --libdir) libdir=${2:?--libdir needs a directory}; shift 2 ;;
    --libdir=*) libdir=${1#*=}; shift ;;
    --destdir) destdir=${2:?--destdir needs a directory}; shift 2 ;;
    --destdir=*) destdir=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$prefix" in
  /*) ;;
  *) echo "install.sh: --prefix must be an absolute path" >&2; exit 2 ;;
esac
prefix=${prefix%/}
libdir=${libdir:-$prefix/lib}
libdir=${libdir%/}
case "$libdir" in
  /*) ;;
  *) echo "install.sh: --libdir must be an absolute path" >&2; exit 2 ;;
esac
includedir=$prefix/include

if [ "$(uname -s)" != Linux ]; then
  echo "install.sh: only Linux is supported (the soname and file names are Linux's)" >&2
  exit 1
fi

if [ "$build" = 1 ]; then
  cargo build --release --lib
fi

# The version the library was built with: the [package] version.
version=$(cargo pkgid --quiet seatbook 2>/dev/null | sed -n 's/.*[@#]\([0-9][0-9A-Za-z.+-]*\)$/\1/p')
if [ -z "$version" ]; then
  echo "install.sh: could not read the package version (cargo pkgid)" >&2
  exit 1
fi
major=${version%%.*}
rest=${version#*.}
minor=${rest%%.*}
if [ "$major" = 0 ]; then abi=0.$minor; else abi=$major; fi

# `cargo metadata` knows where target/ is (CARGO_TARGET_DIR, a workspace).
target_dir=$(cargo metadata --no-deps --format-version 1 2>/dev/null |
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
target_dir=${target_dir:-target}
so=$target_dir/release/libseatbook.so
a=$target_dir/release/libseatbook.a
for f in "$so" "$a" include/seatbook.h bindings/cpp/seatbook.hpp; do
  [ -f "$f" ] || { echo "install.sh: $f is missing (run without --no-build)" >&2; exit 1; }
done

d=$destdir
install -d "$d$includedir" "$d$libdir/pkgconfig" "$d$libdir/cmake/seatbook"
install -m 644 include/seatbook.h bindings/cpp/seatbook.hpp "$d$includedir/"
install -m 755 "$so" "$d$libdir/libseatbook.so.$version"
ln -sfn "libseatbook.so.$version" "$d$libdir/libseatbook.so.$abi"
ln -sfn "libseatbook.so.$abi" "$d$libdir/libseatbook.so"
install -m 644 "$a" "$d$libdir/libseatbook.a"

fill() {
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir|g" \
    -e "s|@INCLUDEDIR@|$includedir|g" -e "s|@VERSION@|$version|g" \
    -e "s|@VERSION_MAJOR@|$major|g" -e "s|@VERSION_MINOR@|$minor|g" \
    -e "s|@ABI@|$abi|g" -e "s|@SIZEOF_VOID_P@|$(($(getconf LONG_BIT) / 8))|g" "$1"
}
fill seatbook.pc.in >"$d$libdir/pkgconfig/seatbook.pc"
fill cmake/seatbookConfig.cmake.in >"$d$libdir/cmake/seatbook/seatbookConfig.cmake"
fill cmake/seatbookConfigVersion.cmake.in >"$d$libdir/cmake/seatbook/seatbookConfigVersion.cmake"
chmod 644 "$d$libdir/pkgconfig/seatbook.pc" "$d$libdir/cmake/seatbook/"*.cmake

echo "installed seatbook $version (soname libseatbook.so.$abi) under $d$prefix"
