/* SPDX-License-Identifier: MIT */
/* Subprocesses (asyncio.create_subprocess_exec): run `sort` with stdin
 * and stdout as pipes and communicate with it, stream a shell command's
 * output line by line, and stop a child that takes too long. */
#include <corio.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int main_task(void *arg)
{
    (void)arg;
    /* 1. communicate: feed stdin, collect stdout, wait. */
    const char *const sort_argv[] = {"sort", NULL};
    corio_process_opts pipes = {.stdin_mode = CORIO_STDIO_PIPE,
                                .stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p = corio_process_exec("sort", sort_argv, &pipes);
    if (!p)
        return 1;
    const char in[] = "pear\napple\nfig\n";
    void *out;
    size_t len;
    int rc = corio_process_communicate(p, in, strlen(in), &out, &len, NULL,
                                       NULL, 5.0);
    int status = -1;
    corio_process_wait(p, &status);
    printf("sort said (status %d):\n%s", status, rc == 0 ? (char *)out : "");
    free(out);
    corio_process_close(p);
    if (rc != 0 || status != 0)
        return 1;

    /* 2. Read a child's output as it comes. */
    corio_process_opts so = {.stdout_mode = CORIO_STDIO_PIPE};
    p = corio_process_shell("for i in 1 2 3; do echo line $i; sleep 0.01; "
                            "done", &so);
    char buf[256];
    ssize_t n;
    while ((n = corio_process_read(p, 1, buf, sizeof buf - 1)) > 0) {
        buf[n] = 0;
        printf("got: %s", buf);
    }
    corio_process_wait(p, &status);
    corio_process_close(p);

    /* 3. A deadline on waiting, then terminate. */
    const char *const sleep_argv[] = {"sleep", "60", NULL};
    p = corio_process_exec("sleep", sleep_argv, NULL);
    corio_scope s;
    corio_scope_enter(&s, 0.1);
    rc = corio_process_wait(p, &status);
    corio_scope_exit(&s);
    printf("waiting for sleep 60: %s\n", rc == -ETIMEDOUT ? "timed out" : "?");
    corio_process_terminate(p);
    corio_process_wait(p, &status);
    printf("after terminate: returncode %d (-SIGTERM is %d)\n", status,
           -SIGTERM);
    corio_process_close(p);
    return status == -SIGTERM ? 0 : 1;
}

int main(void)
{
    return corio_run(main_task, NULL) == 0 ? 0 : 1;
}
