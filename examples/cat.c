/* SPDX-License-Identifier: MIT */
/* An async cat: copy files to stdout with corio's file API, which uses
 * io_uring when the kernel allows it and the thread pool otherwise
 * (CORIO_FILE_IO=pool forces the pool). With no argument it copies this
 * program's own source if it can find it, else /proc/self/status.
 * Usage: cat [file...] */
#include <corio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct args {
    int argc;
    char **argv;
};

/* Copy one file with reads and writes of 64 KiB, as cat does. */
static int cat_one(const char *path)
{
    corio_file *f = corio_file_open(path, O_RDONLY, 0);
    if (!f) {
        fprintf(stderr, "cat: %s: %s\n", path, strerror(errno));
        return -errno;
    }
    static char buf[64 * 1024];
    ssize_t n;
    while ((n = corio_file_read(f, buf, sizeof buf)) > 0) {
        /* stdout may be a pipe or a terminal: copy to it with a plain
         * write, as a file descriptor we did not open. */
        ssize_t done = 0;
        while (done < n) {
            ssize_t w = write(STDOUT_FILENO, buf + done, (size_t)(n - done));
            if (w < 0)
                return -errno;
            done += w;
        }
    }
    corio_file_close(f);
    return n < 0 ? (int)n : 0;
}

static int main_task(void *arg)
{
    struct args *a = arg;
    fprintf(stderr, "cat: file I/O through %s\n", corio_file_io_backend());
    if (a->argc < 2) {
        struct stat st;
        const char *self = corio_stat(__FILE__, &st) == 0
                               ? __FILE__
                               : "/proc/self/status";
        return cat_one(self);
    }
    for (int i = 1; i < a->argc; i++) {
        int rc = cat_one(a->argv[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct args a = {argc, argv};
    return corio_run(main_task, &a) == 0 ? 0 : 1;
}
