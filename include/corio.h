/* SPDX-License-Identifier: MIT */
/* corio: Python asyncio's programming model in C, on stackful coroutines.
 * Include this header for the whole core API. */
#ifndef CORIO_H
#define CORIO_H

#include "corio/common.h"
#include "corio/debug.h"
#include "corio/dns.h"
#include "corio/file.h"
#include "corio/future.h"
#include "corio/group.h"
#include "corio/io.h"
#include "corio/loop.h"
#include "corio/multi.h"
#include "corio/net.h"
#include "corio/pool.h"
#include "corio/process.h"
#include "corio/queue.h"
#include "corio/scope.h"
#include "corio/signal.h"
#include "corio/stream.h"
#include "corio/sync.h"
#include "corio/task.h"
#include "corio/version.h"

#endif
