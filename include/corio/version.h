/* SPDX-License-Identifier: MIT */
/* The version of the corio headers; corio_version() gives the library's. */
#ifndef CORIO_VERSION_H
#define CORIO_VERSION_H

#include "corio/common.h"

#define CORIO_VERSION_MAJOR 0
#define CORIO_VERSION_MINOR 1
#define CORIO_VERSION_PATCH 0
#define CORIO_VERSION_STRING "0.1.0"
/* One number that grows with each release: 0x00MMmmpp. */
#define CORIO_VERSION_HEX                                                    \
    ((CORIO_VERSION_MAJOR << 16) | (CORIO_VERSION_MINOR << 8) |              \
     CORIO_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version as CORIO_VERSION_HEX would spell it. Never
 * suspends. */
CORIO_API unsigned corio_version(void);
/* The library's version as "MAJOR.MINOR.PATCH". Never suspends. */
CORIO_API const char *corio_version_string(void);

#ifdef __cplusplus
}
#endif
#endif
