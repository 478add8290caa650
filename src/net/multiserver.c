/* SPDX-License-Identifier: MIT */
/* One server per core: the same handler served on every loop of a
 * corio_multi, each loop accepting on a listener of its own bound to one
 * port with SO_REUSEPORT, so that the kernel spreads new connections over
 * the loops and no connection ever moves between threads. Started and
 * closed from a plain thread, through corio_loop_submit. */
#include "net/net.h"

#include "corio/multi.h"
#include "corio/pool.h"

struct corio_multi_server {
    corio_multi *m;
    unsigned n;
    int port;
    corio_server **srv; /* one per loop; srv[i] belongs to loop i */
};

/* What a task on loop i needs to start its server. */
struct start {
    const char *host;
    int port;
    corio_server_fn fn;
    void *arg;
    corio_server_opts opts;
    corio_server *srv; /* out */
    int bound;         /* out: the port it listens on */
};

static int start_one(void *arg)
{
    struct start *st = arg;
    st->opts.listen.flags |= CORIO_SOCK_REUSEPORT;
    corio_sock *l = corio_tcp_listen(st->host, st->port, &st->opts.listen);
    if (!l)
        return -errno;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (corio_sock_local_addr(l, &ss, &len) == 0)
        st->bound = corio_addr_port((struct sockaddr *)&ss);
    st->srv = corio_server_new(l, st->fn, st->arg, &st->opts);
    if (!st->srv) {
        int e = errno;
        corio_sock_close(l);
        return -e;
    }
    return 0;
}

struct stop {
    corio_server *srv;
    double timeout;
};

static int stop_one(void *arg)
{
    struct stop *sp = arg;
    return corio_server_close(sp->srv, sp->timeout);
}

/* Run fn(arg) as a task on loop and wait for it from this thread. */
static int run_on(corio_loop *loop, corio_fn fn, void *arg)
{
    corio_submission *s = corio_loop_submit(loop, fn, arg);
    if (!s)
        return -errno;
    int result = 0;
    int rc = corio_submission_wait(s, -1, &result);
    corio_submission_free(s);
    return rc < 0 ? rc : result;
}

/* Close the servers of loops [0, upto). Returns the handlers cancelled. */
static int close_upto(corio_multi_server *ms, unsigned upto, double timeout)
{
    int cancelled = 0, err = 0;
    for (unsigned i = 0; i < upto; i++) {
        if (!ms->srv[i])
            continue;
        struct stop sp = {ms->srv[i], timeout};
        int rc = run_on(corio_multi_loop(ms->m, i), stop_one, &sp);
        if (rc < 0 && !err)
            err = rc;
        else if (rc > 0)
            cancelled += rc;
        ms->srv[i] = NULL;
    }
    return err ? err : cancelled;
}

corio_multi_server *corio_multi_server_start(corio_multi *m, const char *host,
                                             int port, corio_server_fn fn,
                                             void *arg,
                                             const corio_server_opts *opts)
{
    if (!m || !fn || port < 0 || port > 65535) {
        errno = EINVAL;
        return NULL;
    }
    if (corio_multi_index() >= 0) {
        errno = EDEADLK; /* it would wait for a loop it blocks */
        return NULL;
    }
    corio_multi_server *ms = corio__calloc(1, sizeof *ms);
    if (!ms)
        goto err;
    ms->m = m;
    ms->n = corio_multi_size(m);
    ms->srv = corio__calloc(ms->n, sizeof *ms->srv);
    if (!ms->srv)
        goto err_free;
    ms->port = port;
    /* Loop 0 first: with port 0 it picks the port the others share. */
    for (unsigned i = 0; i < ms->n; i++) {
        struct start st = {host, ms->port, fn, arg, {0}, NULL, 0};
        if (opts)
            st.opts = *opts;
        int rc = run_on(corio_multi_loop(m, i), start_one, &st);
        if (rc < 0) {
            close_upto(ms, i, 0);
            corio__free(ms->srv);
            corio__free(ms);
            errno = -rc;
            return NULL;
        }
        ms->srv[i] = st.srv;
        ms->port = st.bound;
    }
    return ms;

err_free:
    corio__free(ms);
err:
    errno = ENOMEM;
    return NULL;
}

int corio_multi_server_port(const corio_multi_server *ms)
{
    return ms ? ms->port : -EINVAL;
}

int corio_multi_server_close(corio_multi_server *ms, double timeout)
{
    if (!ms)
        return 0;
    if (corio_multi_index() >= 0)
        return -EDEADLK;
    int rc = close_upto(ms, ms->n, timeout);
    corio__free(ms->srv);
    corio__free(ms);
    return rc;
}
