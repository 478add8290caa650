/* SPDX-License-Identifier: MIT */
/* echo_client HOST PORT [LINE...]: connect (asyncio.open_connection),
 * send each line, print what comes back, then close gracefully. For the
 * chat server: --send LINE... only sends, and --listen N sends nothing
 * and prints the first N lines that arrive. HOST may be a name: it is
 * resolved without blocking the loop. */
#include <corio.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int argc_;
static char **argv_;

static int client(void *arg)
{
    (void)arg;
    const char *host = argv_[1];
    int port = atoi(argv_[2]);
    int listen = 0;
    bool send_only = false;
    int first = 3;
    if (argc_ > 4 && strcmp(argv_[3], "--listen") == 0) {
        listen = atoi(argv_[4]);
        first = 5;
    } else if (argc_ > 3 && strcmp(argv_[3], "--send") == 0) {
        send_only = true;
        first = 4;
    }
    corio_stream *s = corio_open_connection(host, port, NULL);
    if (!s) {
        fprintf(stderr, "echo_client: %s:%d: %s\n", host, port,
                strerror(errno));
        return 1;
    }
    char line[4096];
    int rc = 0;
    if (listen) {
        for (int i = 0; i < listen && rc == 0; i++) {
            ssize_t n = corio_stream_readline(s, line, sizeof line);
            if (n <= 0)
                rc = n < 0 ? (int)n : -EPIPE;
            else
                printf("%.*s", (int)n, line);
        }
    } else {
        for (int i = first; i < argc_ && rc == 0; i++) {
            rc = corio_stream_write(s, argv_[i], strlen(argv_[i]));
            if (rc == 0)
                rc = corio_stream_write(s, "\n", 1);
            if (send_only)
                continue; /* close delivers it */
            ssize_t n = rc ? rc : corio_stream_readline(s, line, sizeof line);
            if (n <= 0)
                rc = n < 0 ? (int)n : -EPIPE;
            else
                printf("%.*s", (int)n, line);
        }
    }
    fflush(stdout);
    int crc = corio_stream_close(s);
    if (rc || crc) {
        fprintf(stderr, "echo_client: %s\n", strerror(rc ? -rc : -crc));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: echo_client HOST PORT [LINE...]\n"
                        "       echo_client HOST PORT --send LINE...\n"
                        "       echo_client HOST PORT --listen N\n");
        return 2;
    }
    argc_ = argc;
    argv_ = argv;
    return corio_run(client, NULL) == 0 ? 0 : 1;
}
