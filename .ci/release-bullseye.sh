#!/usr/bin/env bash
# Before a release: the x86-64 manylinux wheel on Debian 11 "bullseye" (glibc 2.31, the libstdc++ of gcc 10), a
# userland older than the one the wheel is built on. The script debootstraps bullseye into a chroot, builds
# CPython 3.11 there from Debian's source package (bullseye's own Python is 3.9), installs the wheel with TensorFlow
# and the test extra into a venv, and runs the demo and the test suite against it. The tests that compile lrn_op
# (marker `compiles`) are left out: they test the build machine, and a wheel user compiles nothing.
# usage, as root, from the project root:
#   .ci/release-bullseye.sh dist/lrn_op-*manylinux_2_27_x86_64.whl COMMIT [chroot [pytest arguments...]]
# COMMIT is the one the wheel was built from: its tests are the ones run. The chroot (default
# /var/tmp/lrn_op-bullseye) is kept, so that a second run skips debootstrap and the CPython build. Pytest arguments,
# if any, replace the whole suite (tests -m "not compiles").
set -euo pipefail
wheel=$(realpath "$1")
commit=$(git -C "$(dirname "$0")" rev-parse --verify "$2^{commit}")
root=${3:-/var/tmp/lrn_op-bullseye}
shift $(( $# < 3 ? $# : 3 ))
if [ $# -eq 0 ]; then set -- tests -m "not compiles"; fi
project=$(cd "$(dirname "$0")/.." && pwd)
start=$(date +%s)

command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
if [ ! -x "$root/usr/bin/apt-get" ]; then
  debootstrap --variant=minbase bullseye "$root" http://deb.debian.org/debian
fi

mounts=()
cleanup() { for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" || true; done; }
trap cleanup EXIT
bind() { mkdir -p "$root$1"; mount --bind "$1" "$root$1"; mounts+=("$root$1"); }
bind /proc
bind /dev
bind /sys
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The host's name must resolve inside too: gloo (jax.distributed's CPU collectives) binds to it.
cp /etc/hosts "$root/etc/hosts"
# The host's pip configuration (its index, any local mirror it names, the certificates it trusts) applies in the
# chroot too. The certificate bundle is copied after the chroot's own ca-certificates is installed below, which
# would rewrite it.
copy_in() { if [ -e "$1" ]; then mkdir -p "$root$(dirname "$1")" && cp -r "$1" "$root$(dirname "$1")/"; fi; }
copy_in /etc/pip.conf
copy_in /etc/xdg/pip
[ -d /opt ] && bind /opt
pip_settings=$(env | grep '^PIP_' || true)
in_chroot() { chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root LANG=C.UTF-8 $pip_settings "$@"; }

if [ ! -x "$root/usr/local/python3.11/bin/python3.11" ]; then
  echo "deb-src http://deb.debian.org/debian bookworm main" > "$root/etc/apt/sources.list.d/bookworm-src.list"
  in_chroot apt-get update -q
  in_chroot apt-get install -y -q --no-install-recommends build-essential dpkg-dev ca-certificates libssl-dev \
    zlib1g-dev libffi-dev libbz2-dev liblzma-dev libsqlite3-dev libreadline-dev uuid-dev libgdbm-dev
  in_chroot sh -c 'mkdir -p /src/python && cd /src/python && apt-get source --download-only -q python3.11 &&
    tar xf python3.11_*.orig.tar.* && cd Python-3.11* && ./configure -q --prefix=/usr/local/python3.11 &&
    make -s -j"$(nproc)" && make -s altinstall'
fi
copy_in /etc/ssl/certs/ca-certificates.crt
in_chroot ldd --version | sed -n 1p

rm -rf "$root/work" && mkdir -p "$root/work"
cp "$wheel" "$root/work/"
# The commit's whole tree: the tests and everything they read (README.md, pyproject.toml, examples/, docs/,
# mkdocs.yml, the sources the docs include). The tests import the installed wheel, never the tree's lrn_op/
# (tests/conftest.py).
git -C "$project" archive "$commit" | tar -x -C "$root/work"
in_chroot /usr/local/python3.11/bin/python3.11 -m venv /work/venv
in_chroot /work/venv/bin/pip install -q "/work/$(basename "$wheel")[test]"
in_chroot sh -c 'cd /tmp && /work/venv/bin/python -m lrn_op'
in_chroot sh -c 'cd /work && exec /work/venv/bin/python -m pytest -q "$@"' pytest "$@" | tee "$root/work/pytest.log"
echo "bullseye: $(tail -n 1 "$root/work/pytest.log" | tr -d '=') in $(( $(date +%s) - start )) s"
