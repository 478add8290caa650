/* SPDX-License-Identifier: MIT */
/* The library's version, for programs that want to check the one they run
 * against. */
#include "corio/version.h"

unsigned corio_version(void)
{
    return CORIO_VERSION_HEX;
}

const char *corio_version_string(void)
{
    return CORIO_VERSION_STRING;
}
