/* SPDX-License-Identifier: MIT */
/* The soak test of issue 8 (not part of the CI suite): start a server
 * command, hold CONNS keep-alive connections to it for SECONDS, each
 * sending a request at random intervals (mean PERIOD seconds), and every
 * INTERVAL seconds print the server's resident memory, its open
 * descriptors, the requests served and their latency p50/p99. At the end
 * the connections close, and the server's descriptors must return to
 * their count before the first connection.
 *
 * The server command prints its port on a line of stdout before anything
 * else that contains a number ("port N" as bench_echo does, or "listening
 * on HOST:N"). Mode echo sends 64 bytes and reads them back; mode http
 * sends "GET / HTTP/1.1" and reads a response with a Content-Length.
 *
 * Usage: bench_soak [options] -- SERVER-COMMAND [ARGS...]
 *   --mode echo|http  (echo)        --conns N       (10000)
 *   --seconds S       (600)         --interval S    (10)
 *   --period S        (1)           --warmup S      (max(interval, 10 %))
 *   --max-growth PCT  (1)
 * Prints one line per interval and a JSON summary; exits 1 if resident
 * memory grew by PCT % or more from the end of the warm-up to the end, or
 * the descriptors did not return to their baseline, or requests failed. */
#include <corio.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* Latency histogram: 10 µs buckets up to 200 ms, then one for the rest. */
#define BUCKET_US 10
#define NBUCKETS 20001

struct hist {
    uint64_t n[NBUCKETS];
    uint64_t count;
};

static struct {
    const char *mode;
    long conns;
    double seconds, interval, period, warmup, max_growth;
    int port;
    pid_t pid;
    bool http;
    double until;
    struct hist hist;          /* this interval's latencies */
    uint64_t failures;         /* requests that failed */
    long connected;            /* connections open now */
    long connect_failures;
} soak = {
    .mode = "echo", .conns = 10000, .seconds = 600, .interval = 10,
    .period = 1.0, .warmup = -1, .max_growth = 1.0,
};

static void hist_add(struct hist *h, double secs)
{
    long b = (long)(secs * 1e6) / BUCKET_US;
    h->n[b < NBUCKETS - 1 ? b : NBUCKETS - 1]++;
    h->count++;
}

/* The q-quantile in µs (upper edge of its bucket), 0 when empty. */
static double hist_quantile(const struct hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count), seen = 0;
    for (long b = 0; b < NBUCKETS; b++) {
        seen += h->n[b];
        if (seen > want)
            return (double)((b + 1) * BUCKET_US);
    }
    return (double)(NBUCKETS * BUCKET_US);
}

/* A uniform double in [0, 1) from a per-task xorshift state. */
static double uniform(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

/* ---- the server's vital signs, from /proc ---- */

static long server_rss_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)soak.pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static long server_fds(void)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)soak.pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- one connection ---- */

static const char http_req[] = "GET / HTTP/1.1\r\nHost: soak\r\n\r\n";

/* Read one HTTP response with a Content-Length; 0 or a negative errno. */
static int read_http(corio_stream *s)
{
    char line[1024], body[4096];
    long length = -1;
    ssize_t n = corio_stream_readline(s, line, sizeof line);
    if (n <= 0 || strncmp(line, "HTTP/1.1 200", 12) != 0)
        return n < 0 ? (int)n : -EPROTO;
    for (;;) {
        n = corio_stream_readline(s, line, sizeof line);
        if (n <= 0)
            return n < 0 ? (int)n : -EPIPE;
        if (n <= 2 && line[0] == '\r')
            break;
        if (strncasecmp(line, "content-length:", 15) == 0)
            length = strtol(line + 15, NULL, 10);
    }
    if (length < 0 || length > (long)sizeof body)
        return -EPROTO;
    n = corio_stream_readexactly(s, body, (size_t)length);
    return n < 0 ? (int)n : 0;
}

static int request(corio_stream *s)
{
    if (soak.http) {
        int rc = corio_stream_write(s, http_req, sizeof http_req - 1);
        if (rc == 0)
            rc = corio_stream_drain(s);
        return rc < 0 ? rc : read_http(s);
    }
    char msg[64], back[64];
    memset(msg, 'x', sizeof msg);
    int rc = corio_stream_write(s, msg, sizeof msg);
    if (rc == 0)
        rc = corio_stream_drain(s);
    if (rc < 0)
        return rc;
    ssize_t n = corio_stream_readexactly(s, back, sizeof back);
    if (n < 0)
        return (int)n;
    return memcmp(msg, back, sizeof msg) ? -EPROTO : 0;
}

static int connection(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1;
    corio_stream *s = corio_open_connection("127.0.0.1", soak.port, NULL);
    if (!s) {
        soak.connect_failures++;
        return -errno;
    }
    soak.connected++;
    while (corio_time() < soak.until) {
        /* Uniform in [0, 2 * period): the mean is period, and the
         * connections drift apart instead of firing together. */
        double nap = 2 * soak.period * uniform(&rng);
        if (corio_time() + nap >= soak.until)
            break;
        if (corio_sleep(nap) < 0)
            break;
        double t0 = corio_time();
        if (request(s) < 0) {
            soak.failures++;
            break;
        }
        hist_add(&soak.hist, corio_time() - t0);
    }
    corio_stream_close(s);
    soak.connected--;
    return 0;
}

/* ---- the run ---- */

static int read_port(corio_process *p)
{
    char buf[4096];
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t n = corio_process_read(p, 1, buf + len, sizeof buf - 1 - len);
        if (n <= 0)
            return -EPIPE;
        len += (size_t)n;
        buf[len] = '\0';
        char *nl;
        for (char *line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
            /* The last number on the line is the port. */
            int port = -1;
            for (char *c = line; c < nl; c++)
                if (isdigit((unsigned char)*c) &&
                    (c == line || !isdigit((unsigned char)c[-1])))
                    port = atoi(c);
            if (port > 0 && port < 65536)
                return port;
        }
    }
    return -EPROTO;
}

/* Keep reading the server's stdout, so that it never blocks on a pipe. */
static int drain_stdout(void *arg)
{
    char buf[4096];
    while (corio_process_read(arg, 1, buf, sizeof buf) > 0)
        ;
    return 0;
}

static int run(void *arg)
{
    char **cmd = arg;
    corio_process_opts po = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p = corio_process_exec(cmd[0], (const char *const *)cmd,
                                          &po);
    if (!p) {
        fprintf(stderr, "soak: cannot start %s: %s\n", cmd[0],
                strerror(errno));
        return -errno;
    }
    soak.pid = corio_process_pid(p);
    corio_scope sc;
    corio_scope_enter(&sc, 10.0); /* the server has 10 s to listen */
    soak.port = read_port(p);
    corio_scope_exit(&sc);
    if (soak.port < 0) {
        fprintf(stderr, "soak: the server printed no port\n");
        corio_process_close(p);
        return soak.port;
    }
    corio_task *drain = corio_spawn(drain_stdout, p);
    corio_sleep(0.2);
    long base_fds = server_fds(), base_rss = server_rss_kib();
    printf("server pid %d port %d: %ld descriptors, %ld KiB resident "
           "before the first connection\n", (int)soak.pid, soak.port,
           base_fds, base_rss);

    double start = corio_time();
    /* The connections outlive the last sample by half an interval, so
     * every sample sees all of them. */
    soak.until = start + soak.seconds + soak.interval / 2;
    corio_task **conns = calloc((size_t)soak.conns, sizeof *conns);
    if (!conns)
        return -ENOMEM;
    /* Open the connections in batches, so the server's backlog keeps up. */
    for (long i = 0; i < soak.conns; i++) {
        conns[i] = corio_spawn(connection, (void *)(uintptr_t)(i + 1));
        if (i % 500 == 499)
            corio_sleep(0.01);
    }

    double warm_end = start + soak.warmup;
    long warm_rss = -1, max_rss = 0, last_rss = 0, samples = 0;
    double worst_p99 = 0;
    printf("%8s %8s %10s %7s %9s %9s %9s %7s\n", "t_s", "conns", "rss_kib",
           "fds", "req/s", "p50_us", "p99_us", "failed");
    for (double next = start + soak.interval;
         next <= start + soak.seconds + 1e-6; next += soak.interval) {
        if (corio_sleep(next - corio_time()) < 0)
            break;
        long rss = server_rss_kib(), fds = server_fds();
        double p50 = hist_quantile(&soak.hist, 0.50);
        double p99 = hist_quantile(&soak.hist, 0.99);
        printf("%8.0f %8ld %10ld %7ld %9.0f %9.0f %9.0f %7llu\n",
               next - start, soak.connected, rss, fds,
               (double)soak.hist.count / soak.interval, p50, p99,
               (unsigned long long)soak.failures);
        fflush(stdout);
        memset(&soak.hist, 0, sizeof soak.hist);
        if (next >= warm_end - 1e-6 && warm_rss < 0)
            warm_rss = rss;
        if (next > warm_end + 1e-6)
            worst_p99 = p99 > worst_p99 ? p99 : worst_p99;
        max_rss = rss > max_rss ? rss : max_rss;
        last_rss = rss;
        samples++;
    }
    for (long i = 0; i < soak.conns; i++)
        corio_join(conns[i]);
    free(conns);
    /* The server closes its side when it reads the end of each stream. */
    long end_fds = -1;
    for (int i = 0; i < 50; i++) {
        corio_sleep(0.1);
        end_fds = server_fds();
        if (end_fds <= base_fds)
            break;
    }
    long end_rss = server_rss_kib();
    double growth = warm_rss > 0 ? 100.0 * (double)(last_rss - warm_rss) /
                                       (double)warm_rss : 0;
    bool ok = soak.failures == 0 && soak.connect_failures == 0 &&
              end_fds == base_fds && warm_rss > 0 && growth < soak.max_growth;
    printf("{\"mode\": \"%s\", \"conns\": %ld, \"seconds\": %.0f, "
           "\"samples\": %ld, \"rss_base_kib\": %ld, \"rss_warm_kib\": %ld, "
           "\"rss_last_kib\": %ld, \"rss_max_kib\": %ld, "
           "\"rss_growth_pct\": %.3f, \"rss_after_close_kib\": %ld, "
           "\"fds_base\": %ld, \"fds_after_close\": %ld, "
           "\"worst_p99_us\": %.0f, \"failed_requests\": %llu, "
           "\"failed_connects\": %ld, \"ok\": %s}\n",
           soak.mode, soak.conns, soak.seconds, samples, base_rss, warm_rss,
           last_rss, max_rss, growth, end_rss, base_fds, end_fds, worst_p99,
           (unsigned long long)soak.failures, soak.connect_failures,
           ok ? "true" : "false");
    fflush(stdout);
    corio_process_terminate(p);
    int status;
    corio_process_wait(p, &status);
    corio_join(drain);
    corio_process_close(p);
    return ok ? 0 : 1;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_soak [--mode echo|http] [--conns N] "
                    "[--seconds S] [--interval S] [--period S] "
                    "[--warmup S] [--max-growth PCT] -- SERVER-COMMAND "
                    "[ARGS...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (i + 1 >= argc)
            usage();
        const char *o = argv[i], *v = argv[i + 1];
        if (strcmp(o, "--mode") == 0)
            soak.mode = v;
        else if (strcmp(o, "--conns") == 0)
            soak.conns = atol(v);
        else if (strcmp(o, "--seconds") == 0)
            soak.seconds = atof(v);
        else if (strcmp(o, "--interval") == 0)
            soak.interval = atof(v);
        else if (strcmp(o, "--period") == 0)
            soak.period = atof(v);
        else if (strcmp(o, "--warmup") == 0)
            soak.warmup = atof(v);
        else if (strcmp(o, "--max-growth") == 0)
            soak.max_growth = atof(v);
        else
            usage();
    }
    if (i + 1 >= argc || soak.conns <= 0 || !(soak.seconds > 0) ||
        !(soak.interval > 0) || !(soak.period > 0))
        usage();
    soak.http = strcmp(soak.mode, "http") == 0;
    if (!soak.http && strcmp(soak.mode, "echo") != 0)
        usage();
    if (soak.warmup < 0) {
        soak.warmup = soak.seconds / 10;
        if (soak.warmup < soak.interval)
            soak.warmup = soak.interval;
    }
    /* One descriptor per connection, and the server's children inherit
     * the raised limit. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    int rc = corio_run(run, argv + i + 1);
    return rc == 0 ? 0 : 1;
}
