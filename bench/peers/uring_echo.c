/* SPDX-License-Identifier: MIT */
/* Workloads (m) and (n), the io_uring ceiling: an echo server written
 * directly on liburing, as the io_uring documents advise for networking,
 * with no runtime in between. It is what the kernel allows a server on
 * this machine, so corio's io_uring rows can be read against it.
 *
 * - one multishot accept for the listener;
 * - one multishot receive per connection into a provided buffer ring: no
 *   per-receive request, no readiness round trip;
 * - the echo is sent from the same buffer with a send request, and the
 *   buffer goes back to the ring when the send completes (a short send
 *   resends the rest);
 * - everything an iteration queued goes in with the next wait, in one
 *   io_uring_enter; with IORING_SETUP_DEFER_TASKRUN (Linux 6.1) where the
 *   kernel has it, else COOP_TASKRUN.
 *
 * TCP_NODELAY, as the other servers have it. Prints "port N" once
 * listening; SIGTERM ends it. Usage: bench_uring_echo PORT */
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define NBUFS 4096 /* provided buffers, a power of two */
#define BUFSZ 2048
#define BGID 0

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };

/* user_data: the operation in the top byte, then a buffer id, then fd. */
#define UD(op, bid, fd) \
    ((uint64_t)(op) << 56 | (uint64_t)(bid) << 32 | (uint32_t)(fd))

struct send {
    int fd;
    unsigned off, len;
};

struct conn {
    unsigned sending; /* sends in flight */
    int closing;      /* closed when the last send ends */
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static struct send sends[NBUFS];
static struct conn *conns;
static size_t nconns;
static unsigned returned; /* buffers given back this iteration */
static int starved[1 << 16], nstarved; /* receives out of buffers */

static void die(const char *what, int err)
{
    fprintf(stderr, "bench_uring_echo: %s: %s\n", what, strerror(err));
    exit(1);
}

static struct io_uring_sqe *sqe(void)
{
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    while (!s) {
        io_uring_submit(&ring);
        s = io_uring_get_sqe(&ring);
    }
    return s;
}

static void recv_multishot(int fd)
{
    struct io_uring_sqe *s = sqe();
    io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    io_uring_sqe_set_data64(s, UD(OP_RECV, 0, fd));
}

static void send_rest(unsigned bid)
{
    struct send *x = &sends[bid];
    struct io_uring_sqe *s = sqe();
    io_uring_prep_send(s, x->fd, bufs + (size_t)bid * BUFSZ + x->off,
                       x->len - x->off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, UD(OP_SEND, bid, x->fd));
    conns[x->fd].sending++;
}

static void give_back(unsigned bid)
{
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, bid,
                          io_uring_buf_ring_mask(NBUFS), returned++);
}

static void drop(int fd)
{
    if (conns[fd].sending)
        conns[fd].closing = 1;
    else
        close(fd);
}

static void on_recv(int fd, int res, unsigned flags)
{
    if (res == -ENOBUFS) { /* every buffer is out: rearm once some return */
        if (nstarved < (int)(sizeof starved / sizeof starved[0]))
            starved[nstarved++] = fd;
        else
            drop(fd);
        return;
    }
    if (res <= 0) {
        drop(fd);
        return;
    }
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    sends[bid] = (struct send){fd, 0, (unsigned)res};
    send_rest(bid);
    if (!(flags & IORING_CQE_F_MORE))
        recv_multishot(fd); /* the kernel ended it (full CQ): again */
}

static void on_send(int fd, unsigned bid, int res)
{
    struct conn *c = &conns[fd];
    c->sending--;
    struct send *x = &sends[bid];
    if (res > 0 && !c->closing && x->off + (unsigned)res < x->len) {
        x->off += (unsigned)res;
        send_rest(bid);
        return;
    }
    /* A failed send needs nothing more: the receive ends too, with 0 or
     * an error, and that drops the connection once. */
    give_back(bid);
    if (c->closing && !c->sending) {
        c->closing = 0;
        close(fd);
    }
}

static void on_term(int sig)
{
    (void)sig;
    _exit(0);
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    signal(SIGTERM, on_term);
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    nconns = rl.rlim_cur;
    conns = calloc(nconns, sizeof *conns);
    if (!conns)
        die("calloc", ENOMEM);

    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_SINGLE_ISSUER |
              IORING_SETUP_DEFER_TASKRUN;
    p.cq_entries = 8192;
    int rc = io_uring_queue_init_params(512, &ring, &p);
    if (rc == -EINVAL) { /* before Linux 6.1 */
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
        p.cq_entries = 8192;
        rc = io_uring_queue_init_params(512, &ring, &p);
    }
    if (rc < 0)
        die("io_uring_queue_init_params", -rc);

    if (posix_memalign((void **)&br, 4096, NBUFS * sizeof(struct io_uring_buf)))
        die("posix_memalign", ENOMEM);
    bufs = malloc((size_t)NBUFS * BUFSZ);
    if (!bufs)
        die("malloc", ENOMEM);
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {
        .ring_addr = (unsigned long)br, .ring_entries = NBUFS, .bgid = BGID};
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0)
        die("io_uring_register_buf_ring", -rc);
    for (unsigned i = 0; i < NBUFS; i++)
        give_back(i);
    io_uring_buf_ring_advance(br, returned);
    returned = 0;

    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (l < 0)
        die("socket", errno);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 4096) < 0 ||
        getsockname(l, (struct sockaddr *)&a, &alen) < 0)
        die("listen", errno);
    printf("port %d\n", ntohs(a.sin_port));
    fflush(stdout);

    struct io_uring_sqe *s = sqe();
    io_uring_prep_multishot_accept(s, l, NULL, NULL, 0);
    io_uring_sqe_set_data64(s, UD(OP_ACCEPT, 0, l));

    for (;;) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR)
            die("io_uring_submit_and_wait", -rc);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            uint64_t ud = cqe->user_data;
            int fd = (int)(uint32_t)ud;
            unsigned bid = (unsigned)(ud >> 32) & 0xffffff;
            switch (ud >> 56) {
            case OP_ACCEPT:
                if (cqe->res >= 0 && (size_t)cqe->res < nconns) {
                    setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one,
                               sizeof one);
                    conns[cqe->res] = (struct conn){0, 0};
                    recv_multishot(cqe->res);
                } else if (cqe->res >= 0) {
                    close(cqe->res);
                }
                if (!(cqe->flags & IORING_CQE_F_MORE)) {
                    s = sqe();
                    io_uring_prep_multishot_accept(s, l, NULL, NULL, 0);
                    io_uring_sqe_set_data64(s, UD(OP_ACCEPT, 0, l));
                }
                break;
            case OP_RECV:
                on_recv(fd, cqe->res, cqe->flags);
                break;
            case OP_SEND:
                on_send(fd, bid, cqe->res);
                break;
            }
        }
        io_uring_cq_advance(&ring, seen);
        if (returned) {
            io_uring_buf_ring_advance(br, returned);
            returned = 0;
            while (nstarved)
                recv_multishot(starved[--nstarved]);
        }
    }
}
