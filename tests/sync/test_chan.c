/* SPDX-License-Identifier: MIT */
/* Channels: buffered and unbuffered transfer, clones, end of channel when
 * every sender closes, -EPIPE when every receiver closes, closing a handle
 * with a waiter on it, and no loss under random cancellation. */
#include "harness.h"

#include <corio.h>

#define RUN(fn) ASSERT_OK(corio_run(fn, NULL))
#define P(i) ((void *)(intptr_t)(i))
#define I(p) ((int)(intptr_t)(p))

static corio_chan_tx *tx;
static corio_chan_rx *rx;

static int sender(void *arg)
{
    corio_chan_tx *t = arg;
    for (int i = 1; i <= 100; i++) {
        int rc = corio_chan_send(t, P(i));
        if (rc < 0)
            return rc;
    }
    corio_chan_tx_close(t);
    return 0;
}

static int transfer(void *arg)
{
    size_t cap = (size_t)(intptr_t)arg;
    ASSERT_OK(corio_chan_open(cap, &tx, &rx));
    corio_chan_tx *tx2 = corio_chan_tx_clone(tx);
    ASSERT_NOT_NULL(tx2);
    corio_task *a = corio_spawn(sender, tx);
    corio_task *b = corio_spawn(sender, tx2);
    long sum = 0;
    int n = 0, rc;
    void *v;
    while ((rc = corio_chan_recv(rx, &v)) == 1) {
        sum += I(v);
        n++;
    }
    /* 0: both senders closed and the buffer is empty. */
    ASSERT_EQ(rc, 0);
    ASSERT_EQ(n, 200);
    ASSERT_EQ(sum, 2 * 5050);
    ASSERT_OK(corio_join(a));
    ASSERT_OK(corio_join(b));
    ASSERT_EQ(corio_chan_try_recv(rx, &v), 0);
    corio_chan_rx_close(rx);
    return 0;
}

TEST(buffered_channel_with_two_senders)
{
    ASSERT_OK(corio_run(transfer, (void *)8));
}

TEST(unbuffered_channel_is_a_rendezvous)
{
    ASSERT_OK(corio_run(transfer, (void *)0));
}

static int rendezvous(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_chan_open(0, &tx, &rx));
    /* With capacity 0 a send without a receiver cannot complete. */
    ASSERT_ERR(corio_chan_try_send(tx, P(1)), -EAGAIN);
    void *v;
    ASSERT_ERR(corio_chan_try_recv(rx, &v), -EAGAIN);
    corio_chan_tx_close(tx);
    corio_chan_rx_close(rx);
    return 0;
}

TEST(unbuffered_try_forms)
{
    RUN(rendezvous);
}

static int recv_one(void *arg)
{
    void *v;
    return corio_chan_recv(arg, &v);
}

static int send_one(void *arg)
{
    return corio_chan_send(arg, P(1));
}

static int closing(void *arg)
{
    (void)arg;
    ASSERT_OK(corio_chan_open(1, &tx, &rx));
    ASSERT_OK(corio_chan_send(tx, P(1)));
    corio_task *s = corio_spawn(send_one, tx); /* blocks: full */
    ASSERT_OK(corio_yield());
    corio_chan_rx_close(rx); /* every receiver gone */
    ASSERT_ERR(corio_join(s), -EPIPE);
    ASSERT_ERR(corio_chan_send(tx, P(2)), -EPIPE);
    corio_chan_tx_close(tx);

    ASSERT_OK(corio_chan_open(1, &tx, &rx));
    corio_chan_rx *rx2 = corio_chan_rx_clone(rx);
    corio_task *r = corio_spawn(recv_one, rx2);
    ASSERT_OK(corio_yield());
    /* Closing the handle a task waits on wakes it with -EBADF. */
    corio_chan_rx_close(rx2);
    ASSERT_ERR(corio_join(r), -EBADF);
    corio_chan_tx_close(tx);
    void *v;
    ASSERT_EQ(corio_chan_recv(rx, &v), 0);
    corio_chan_rx_close(rx);
    ASSERT_ERR(corio_chan_send(NULL, P(1)), -EBADF);
    ASSERT_ERR(corio_chan_recv(NULL, &v), -EBADF);
    return 0;
}

TEST_OPTS(closing_sides, .labels = "order")
{
    RUN(closing);
}

enum { N = 500 };
static unsigned char sent_ok[N * 10], recvd[N * 10];
static int dupes;

static int c_sender(void *arg)
{
    int id = I(arg);
    for (int i = 0; i < 10; i++) {
        int item = id * 10 + i;
        int rc = corio_chan_send(tx, P(item + 1));
        if (rc < 0)
            return rc;
        sent_ok[item] = 1;
    }
    return 0;
}

static int c_recv(void *arg)
{
    (void)arg;
    for (;;) {
        void *v;
        int rc = corio_chan_recv(rx, &v);
        if (rc <= 0)
            return rc;
        int item = I(v) - 1;
        dupes += recvd[item];
        recvd[item] = 1;
    }
}

static int stress(void *arg)
{
    (void)arg;
    static corio_task *s[N], *r[N];
    ASSERT_OK(corio_chan_open(th_rand() % 2 ? 0 : 4, &tx, &rx));
    memset(sent_ok, 0, sizeof sent_ok);
    memset(recvd, 0, sizeof recvd);
    dupes = 0;
    for (int i = 0; i < N; i++) {
        r[i] = corio_spawn(c_recv, NULL);
        s[i] = corio_spawn(c_sender, P(i));
    }
    for (int k = 0; k < 1000; k++) {
        corio_cancel(th_rand() % 2 ? s[th_rand() % N]
                                   : r[th_rand() % (N - 5)]);
        if (th_rand() % 3 == 0)
            ASSERT_OK(corio_yield());
    }
    for (int i = 0; i < N; i++)
        corio_join(s[i]);
    corio_chan_tx_close(tx); /* receivers drain, then see the end */
    for (int i = 0; i < N; i++) {
        int rc = corio_join(r[i]);
        ASSERT_TRUE(rc == 0 || rc == -ECANCELED);
    }
    corio_chan_rx_close(rx);
    ASSERT_EQ(dupes, 0);
    for (int i = 0; i < N * 10; i++)
        if (sent_ok[i] != recvd[i])
            FAIL("item %d: sent %d, received %d", i, sent_ok[i], recvd[i]);
    return 0;
}

TEST(no_item_lost_or_duplicated_on_a_channel)
{
    RUN(stress);
}
