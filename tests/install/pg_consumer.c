/* SPDX-License-Identifier: MIT */
/* A program outside the tree, built against an installed corio_pg with
 * pkg-config: a connection to a server that is not there fails cleanly
 * with libpq's message. */
#include <corio.h>
#include <corio/pg.h>
#include <errno.h>
#include <stdio.h>

static int entry(void *arg)
{
    (void)arg;
    corio_pg *c = corio_pg_connect("host=/nonexistent connect_timeout=2");
    if (c) {
        corio_pg_close(c);
        return 1;
    }
    printf("corio_pg: no server, as expected: %s\n",
           corio_pg_connect_error());
    return 0;
}

int main(void)
{
    return corio_run(entry, NULL) == 0 ? 0 : 1;
}
