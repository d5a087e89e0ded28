#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A full filesystem under PAGE persistence: ext4 on a loop device whose
# backing file sits on an 8 MiB tmpfs, so the filesystem believes it has
# 64 MiB but writeback fails (EIO) once the tmpfs is full. Durable async
# writes of 40 MiB must then report errors, never abort, and every write
# reported durable must read back after a remount.
# Needs root, losetup and mkfs.ext4; otherwise skips (exit 77).
# Usage: fault_fullfs.sh PATH-TO-fault_fullfs
set -u
BIN=$1
skip() { echo "SKIP fault_fullfs.sh: $*" >&2; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (mount, losetup)"
command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null ||
	skip "losetup/mkfs.ext4 missing"

W=$(mktemp -d /tmp/pmem2-fullfs.XXXXXX)
DEV=
cleanup() {
	mountpoint -q "$W/fs" && umount "$W/fs"
	[ -n "$DEV" ] && losetup -d "$DEV" 2>/dev/null
	# the loop device lets go of its backing file asynchronously
	for _ in $(seq 50); do
		mountpoint -q "$W/back" || break
		umount "$W/back" 2>/dev/null && break
		sleep 0.1
	done
	mountpoint -q "$W/back" && umount -l "$W/back"
	rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/back" "$W/fs"
mount -t tmpfs -o size=16m tmpfs "$W/back" || skip "cannot mount tmpfs"
truncate -s 64M "$W/back/img"
mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 \
	"$W/back/img" >/dev/null 2>&1 || skip "mkfs.ext4 failed"
DEV=$(losetup -f --show "$W/back/img" 2>/dev/null) || { DEV=; skip "losetup failed"; }
mount -o errors=continue "$DEV" "$W/fs" || skip "cannot mount the loop device"

LIST="$W/list-$$"
PMEM2_TEST_QUICK=1 "$BIN" write "$W/fs" "$LIST" || exit 1

# the writer named its file after its own pid: find it
F=$(ls "$W/fs" | grep pmem2-rel-fullfs | head -1)
mv "$LIST" "$W/list-${F##*-}"
umount "$W/fs" 2>/dev/null || { sync; umount -l "$W/fs"; }
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
mount -o errors=continue "$DEV" "$W/fs" || { echo "remount failed" >&2; exit 1; }
"$BIN" verify "$W/fs" "$W/list-${F##*-}" || exit 1
exit 0
