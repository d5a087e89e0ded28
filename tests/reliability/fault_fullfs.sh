#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# A full filesystem under PAGE persistence: ext4 on a loop device whose
# backing file sits on a 16 MiB tmpfs, so the filesystem believes it has
# 64 MiB but writeback fails once the tmpfs is full. Durable async
# writes of 40 MiB must then report errors, never abort, and every write
# reported durable must read back after a remount. Then, on fresh full
# filesystems, a map's durable results after a failed write-back must all
# be errors (fault_fullfs sticky), through io_uring and through fdatasync.
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
dropfs() {
	mountpoint -q "$W/fs" && { umount "$W/fs" 2>/dev/null || umount -l "$W/fs"; }
	[ -n "$DEV" ] && losetup -d "$DEV" 2>/dev/null
	DEV=
	# the loop device lets go of its backing file asynchronously
	for _ in $(seq 50); do
		mountpoint -q "$W/back" || break
		umount "$W/back" 2>/dev/null && break
		sleep 0.1
	done
	mountpoint -q "$W/back" && umount -l "$W/back"
}
cleanup() {
	dropfs
	rm -rf "$W"
}
trap cleanup EXIT
# newfs [MKFS-OPTION...]
newfs() {
	mkdir -p "$W/back" "$W/fs"
	mount -t tmpfs -o size=16m tmpfs "$W/back" || skip "cannot mount tmpfs"
	truncate -s 64M "$W/back/img"
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$@" \
		"$W/back/img" >/dev/null 2>&1 || skip "mkfs.ext4 failed"
	DEV=$(losetup -f --show "$W/back/img" 2>/dev/null) || { DEV=; skip "losetup failed"; }
	mount -o errors=continue "$DEV" "$W/fs" || skip "cannot mount the loop device"
}

newfs
LIST="$W/list-$$"
PMEM2_TEST_QUICK=1 "$BIN" write "$W/fs" "$LIST" || exit 1

# the writer named its file after its own pid: find it
F=$(ls "$W/fs" | grep pmem2-test-fullfs | head -1)
mv "$LIST" "$W/list-${F##*-}"
umount "$W/fs" 2>/dev/null || { sync; umount -l "$W/fs"; }
echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
mount -o errors=continue "$DEV" "$W/fs" || { echo "remount failed" >&2; exit 1; }
"$BIN" verify "$W/fs" "$W/list-${F##*-}" || exit 1
dropfs

# No durable success after a failed write-back. A skip (77) is a failure
# here: the filesystem did run out of space above. Without a journal, whose
# failed commits would fail every later sync anyway, a sync of pages that a
# failed write-back cleaned succeeds: the case the library must catch.
# With a filler file on the backing tmpfs, removed once two write-backs
# have failed, the storage has room again and later syncs succeed: pages
# that a failed write-back cleaned would then be reported durable.
for nouring in 0 1; do
	newfs -O ^has_journal
	dd if=/dev/zero of="$W/back/filler" bs=1M count=3 2>/dev/null
	PMEM2_ASYNC_NO_URING=$nouring "$BIN" sticky "$W/fs" "$W/back/filler" ||
		exit 1
	dropfs
	newfs -O ^has_journal
	PMEM2_ASYNC_NO_URING=$nouring "$BIN" sticky "$W/fs" || exit 1
	dropfs
	newfs
	PMEM2_ASYNC_NO_URING=$nouring "$BIN" sticky "$W/fs" || exit 1
	dropfs
done
exit 0
