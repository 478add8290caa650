/* SPDX-License-Identifier: MIT */
/* corio: Python asyncio's programming model in C, on stackful coroutines.
 * Include this header for the whole core API. */
#ifndef CORIO_H
#define CORIO_H

#include "corio/common.h"
#include "corio/future.h"
#include "corio/group.h"
#include "corio/io.h"
#include "corio/loop.h"
#include "corio/queue.h"
#include "corio/scope.h"
#include "corio/sync.h"
#include "corio/task.h"
#include "corio/version.h"

#endif
