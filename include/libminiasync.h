/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libminiasync.h -- futures, virtual data movers and a small runtime.
 * See libminiasync(7).
 */
#ifndef LIBMINIASYNC_H
#define LIBMINIASYNC_H 1

#include <stddef.h>
#include <stdio.h>

#include "libminiasync/future.h"
#include "libminiasync/vdm.h"
#include "libminiasync/runtime.h"
#include "libminiasync/data_mover_sync.h"
#include "libminiasync/data_mover_threads.h"

#endif /* LIBMINIASYNC_H */
