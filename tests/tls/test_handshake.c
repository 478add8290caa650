/* SPDX-License-Identifier: MIT */
/* TLS handshakes: client and server, what they negotiated, certificate
 * verification (untrusted CA, wrong name, IP addresses, client
 * certificates), SNI, ALPN, versions, session resumption, and the
 * context's settings and their errors. */
#include "helpers.h"

/* What the server's handler saw, for the client to check. */
struct seen {
    char sni[64];
    char subject[128];
    char alpn[16];
    bool resumed;
    int handled;
};

static int record_handler(corio_stream *s, void *arg)
{
    struct seen *w = arg;
    const char *p = corio_tls_server_name(s);
    snprintf(w->sni, sizeof w->sni, "%s", p ? p : "");
    p = corio_tls_peer_subject(s);
    snprintf(w->subject, sizeof w->subject, "%s", p ? p : "");
    p = corio_tls_alpn(s);
    snprintf(w->alpn, sizeof w->alpn, "%s", p ? p : "");
    w->resumed = corio_tls_resumed(s);
    w->handled++;
    return echo_handler(s, NULL);
}

static int basic(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    struct seen w = {0};
    struct tserver ts;
    tserver_start(&ts, sctx, record_handler, &w);
    /* The server keeps its own reference to the context. */
    corio_tls_ctx_free(sctx);

    corio_stream *st = tconnect(ts.port, cctx, "localhost");
    ASSERT_NOT_NULL(st);
    roundtrip(st, "hello over TLS\n");
    ASSERT_STR_EQ(corio_tls_version(st), "TLSv1.3");
    ASSERT_NOT_NULL(corio_tls_cipher(st));
    ASSERT_STR_EQ(corio_tls_peer_subject(st), "CN=localhost,O=corio tests");
    ASSERT_STR_EQ(corio_tls_server_name(st), "localhost");
    ASSERT_NULL(corio_tls_alpn(st));
    ASSERT_FALSE(corio_tls_resumed(st));
    ASSERT_STR_EQ(corio_tls_error(st), "");
    ASSERT_NOT_NULL(corio_tls_openssl(st));
    ASSERT_OK(corio_stream_close(st));
    /* The server saw the name the client asked for (SNI), and no client
     * certificate. */
    ASSERT_STR_EQ(w.sni, "localhost");
    ASSERT_STR_EQ(w.subject, "");
    ASSERT_EQ(w.handled, 1);

    /* By address: no SNI (RFC 6066), and the address is what is checked
     * (the certificate has IP:127.0.0.1). */
    st = corio_tls_connect("127.0.0.1", ts.port, cctx, NULL);
    ASSERT_NOT_NULL(st);
    roundtrip(st, "by address\n");
    ASSERT_NULL(corio_tls_server_name(st));
    ASSERT_OK(corio_stream_close(st));
    ASSERT_STR_EQ(w.sni, "");

    tserver_stop(&ts);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(handshake_echo_and_what_was_negotiated)
{
    RUN(basic);
}

static int plain_accessors(void *arg)
{
    (void)arg;
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    corio_stream *st = corio_stream_open(c, NULL);
    ASSERT_NOT_NULL(st);
    /* A plain stream is not a TLS one. */
    ASSERT_NULL(corio_tls_version(st));
    ASSERT_NULL(corio_tls_cipher(st));
    ASSERT_NULL(corio_tls_error(st));
    ASSERT_NULL(corio_tls_openssl(st));
    ASSERT_NULL(corio_tls_peer_subject(st));
    ASSERT_NULL(corio_tls_alpn(st));
    ASSERT_NULL(corio_tls_server_name(st));
    ASSERT_FALSE(corio_tls_resumed(st));
    ASSERT_NULL(corio_tls_version(NULL));
    ASSERT_OK(corio_stream_close(st));
    ASSERT_OK(corio_sock_close(s));
    return 0;
}

TEST(accessors_on_a_plain_stream_say_nothing)
{
    RUN(plain_accessors);
}

/* ---- verification ---- */

static int refused(void *arg)
{
    (void)arg;
    certs_make();
    corio_tls_ctx *cctx = client_ctx();
    struct tserver ts;

    /* A certificate from a CA the client does not trust. */
    corio_tls_ctx *rogue = corio_tls_ctx_new(CORIO_TLS_SERVER);
    ASSERT_OK(corio_tls_ctx_load_cert_chain(rogue, certs.rogue,
                                            certs.rogue_key));
    tserver_start(&ts, rogue, echo_handler, NULL);
    ASSERT_NULL(tconnect(ts.port, cctx, "localhost"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    const char *why = corio_tls_ctx_error(cctx);
    if (!strstr(why, "certificate verify failed") ||
        !strstr(why, "local issuer"))
        FAIL("error text: %s", why);
    tserver_stop(&ts);
    corio_tls_ctx_free(rogue);

    /* A trusted certificate for another name. */
    corio_tls_ctx *other = corio_tls_ctx_new(CORIO_TLS_SERVER);
    ASSERT_OK(corio_tls_ctx_load_cert_chain(other, certs.other,
                                            certs.other_key));
    tserver_start(&ts, other, echo_handler, NULL);
    ASSERT_NULL(tconnect(ts.port, cctx, "localhost"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    if (!strstr(corio_tls_ctx_error(cctx), "hostname mismatch"))
        FAIL("error text: %s", corio_tls_ctx_error(cctx));
    ASSERT_NULL(tconnect(ts.port, cctx, "127.0.0.1"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    /* Partial wildcards and suffixes do not match either. */
    ASSERT_NULL(tconnect(ts.port, cctx, "x.other.example"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    /* The right name passes; so does anything with verification off. */
    corio_stream *st = tconnect(ts.port, cctx, "other.example");
    ASSERT_NOT_NULL(st);
    roundtrip(st, "ok\n");
    ASSERT_OK(corio_stream_close(st));
    corio_tls_ctx *loose = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    ASSERT_OK(corio_tls_ctx_set_verify(loose, CORIO_TLS_VERIFY_NONE));
    st = tconnect(ts.port, loose, NULL);
    ASSERT_NOT_NULL(st);
    roundtrip(st, "unverified\n");
    ASSERT_OK(corio_stream_close(st));
    tserver_stop(&ts);
    corio_tls_ctx_free(other);
    corio_tls_ctx_free(loose);

    /* A client that verifies must say whom it expects. */
    corio_sock *c, *s;
    tcp_pair(&c, &s);
    ASSERT_NULL(corio_tls_wrap(c, cctx, NULL, NULL));
    ASSERT_ERR(-errno, -EINVAL);
    ASSERT_OK(corio_sock_close(c));
    ASSERT_OK(corio_sock_close(s));
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(verification_refuses_an_untrusted_ca_and_a_wrong_name)
{
    RUN(refused);
}

/* Several names on one server (SNI): each client gets the chain for the
 * name it asked for, verified as usual; other names get the default. */
static void sni_expect(int port, corio_tls_ctx *cctx, const char *name,
                       const char *subject)
{
    corio_stream *st = tconnect(port, cctx, name);
    if (!st)
        FAIL("%s: %s", name, corio_tls_ctx_error(cctx));
    roundtrip(st, "sni\n");
    ASSERT_STR_EQ(corio_tls_peer_subject(st), subject);
    ASSERT_OK(corio_stream_close(st));
}

static int sni(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx(); /* localhost: the default */
    ASSERT_OK(corio_tls_ctx_add_cert_chain(sctx, certs.other,
                                           certs.other_key));
    ASSERT_OK(corio_tls_ctx_add_cert_chain(sctx, certs.wild,
                                           certs.wild_key));
    corio_tls_ctx *cctx = client_ctx();
    struct seen w = {0};
    struct tserver ts;
    tserver_start(&ts, sctx, record_handler, &w);
    sni_expect(ts.port, cctx, "other.example", "CN=other.example,O=corio tests");
    ASSERT_STR_EQ(w.sni, "other.example");
    sni_expect(ts.port, cctx, "a.wild.example", "CN=wild.example,O=corio tests");
    sni_expect(ts.port, cctx, "localhost", "CN=localhost,O=corio tests");
    sni_expect(ts.port, cctx, "127.0.0.1", "CN=localhost,O=corio tests");
    /* A name no chain covers gets the default, which verification then
     * refuses; so does a wildcard's own parent name. */
    ASSERT_NULL(tconnect(ts.port, cctx, "nobody.example"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    ASSERT_NULL(tconnect(ts.port, cctx, "wild.example"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);

    /* Without load_cert_chain, the first added chain is the default. */
    sctx = corio_tls_ctx_new(CORIO_TLS_SERVER);
    ASSERT_OK(corio_tls_ctx_add_cert_chain(sctx, certs.other,
                                           certs.other_key));
    ASSERT_OK(corio_tls_ctx_add_cert_chain(sctx, certs.wild,
                                           certs.wild_key));
    tserver_start(&ts, sctx, echo_handler, NULL);
    sni_expect(ts.port, cctx, "b.wild.example", "CN=wild.example,O=corio tests");
    corio_tls_ctx *loose = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    ASSERT_OK(corio_tls_ctx_set_verify(loose, CORIO_TLS_VERIFY_NONE));
    sni_expect(ts.port, loose, "nobody.example",
               "CN=other.example,O=corio tests");
    sni_expect(ts.port, loose, NULL, "CN=other.example,O=corio tests");
    tserver_stop(&ts);

    /* Bad input changes nothing. */
    ASSERT_ERR(corio_tls_ctx_add_cert_chain(NULL, certs.other, NULL),
               -EINVAL);
    ASSERT_ERR(corio_tls_ctx_add_cert_chain(sctx, NULL, NULL), -EINVAL);
    ASSERT_ERR(corio_tls_ctx_add_cert_chain(loose, certs.other,
                                            certs.other_key),
               -EINVAL); /* a client's context */
    ASSERT_ERR(corio_tls_ctx_add_cert_chain(sctx, "/nonexistent.pem", NULL),
               -ENOENT);
    ASSERT_ERR(corio_tls_ctx_add_cert_chain(sctx, certs.bad, NULL),
               -EBADMSG);
    ASSERT_ERR(corio_tls_ctx_add_cert_chain(sctx, certs.server,
                                            certs.other_key),
               -EKEYREJECTED);
    /* Had the mismatched localhost chain been added, localhost would
     * match it now instead of getting the default. */
    tserver_start(&ts, sctx, echo_handler, NULL);
    sni_expect(ts.port, loose, "localhost", "CN=other.example,O=corio tests");
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(loose);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(sni_presents_the_certificate_for_the_name_asked)
{
    RUN(sni);
}

static int system_store(void *arg)
{
    (void)arg;
    /* With no CA of its own, a client trusts the system's store, which
     * does not know the test CA. */
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    struct tserver ts;
    tserver_start(&ts, sctx, echo_handler, NULL);
    ASSERT_NULL(tconnect(ts.port, cctx, "localhost"));
    ASSERT_ERR(-errno, -EKEYREJECTED);
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(verification_is_on_by_default_against_the_system_store)
{
    RUN(system_store);
}

struct server_side {
    corio_tls_ctx *ctx;
    corio_sock *sock;
    int rc;
    char subject[128];
};

/* Accept one handshake on a socket; record the result. */
static int accept_one(void *arg)
{
    struct server_side *ss = arg;
    corio_stream *st = corio_tls_wrap(ss->sock, ss->ctx, NULL, NULL);
    if (!st) {
        ss->rc = -errno;
        corio_sock_close(ss->sock);
        return 0;
    }
    const char *p = corio_tls_peer_subject(st);
    snprintf(ss->subject, sizeof ss->subject, "%s", p ? p : "");
    char buf[16];
    ss->rc = (int)corio_stream_read(st, buf, sizeof buf);
    corio_stream_close(st);
    return 0;
}

static int client_certs(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    ASSERT_OK(corio_tls_ctx_load_verify(sctx, certs.ca, NULL));
    ASSERT_OK(corio_tls_ctx_set_verify(sctx, CORIO_TLS_VERIFY_REQUIRED));
    corio_tls_ctx *anon = client_ctx();
    corio_tls_ctx *known = client_ctx();
    ASSERT_OK(corio_tls_ctx_load_cert_chain(known, certs.client,
                                            certs.client_key));
    corio_tls_ctx *rogue = client_ctx();
    ASSERT_OK(corio_tls_ctx_load_cert_chain(rogue, certs.rogue,
                                            certs.rogue_key));

    corio_tls_ctx *clients[] = {anon, known, rogue};
    for (int i = 0; i < 3; i++) {
        corio_sock *c;
        struct server_side ss = {.ctx = sctx};
        tcp_pair(&c, &ss.sock);
        corio_task *t = corio_spawn(accept_one, &ss);
        corio_stream *st = corio_tls_wrap(c, clients[i], "localhost", NULL);
        if (st) {
            /* In TLS 1.3 the client finishes first; the server's verdict
             * on its certificate arrives as an alert on the next read. */
            ASSERT_OK(corio_stream_write(st, "x", 1));
            char buf[4];
            ssize_t n = corio_stream_read(st, buf, sizeof buf);
            if (i == 1)
                ASSERT_EQ(n, 0);
            else
                ASSERT_ERR(n, -EKEYREJECTED);
            ASSERT_GE(corio_stream_close(st), -ENOTCONN);
        } else {
            ASSERT_TRUE(i != 1);
            ASSERT_OK(corio_sock_close(c));
        }
        ASSERT_OK(corio_join(t));
        if (i == 1) {
            ASSERT_EQ(ss.rc, 1);
            ASSERT_STR_EQ(ss.subject, "CN=corio test client,O=corio tests");
        } else {
            ASSERT_ERR(ss.rc, -EKEYREJECTED);
        }
    }
    /* Optional: a client without a certificate is let in. */
    ASSERT_OK(corio_tls_ctx_set_verify(sctx, CORIO_TLS_VERIFY_OPTIONAL));
    corio_sock *c;
    struct server_side ss = {.ctx = sctx};
    tcp_pair(&c, &ss.sock);
    corio_task *t = corio_spawn(accept_one, &ss);
    corio_stream *st = corio_tls_wrap(c, anon, "localhost", NULL);
    ASSERT_NOT_NULL(st);
    ASSERT_OK(corio_stream_write(st, "x", 1));
    ASSERT_OK(corio_stream_close(st));
    ASSERT_OK(corio_join(t));
    ASSERT_EQ(ss.rc, 1);
    ASSERT_STR_EQ(ss.subject, "");

    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(anon);
    corio_tls_ctx_free(known);
    corio_tls_ctx_free(rogue);
    return 0;
}

TEST(client_certificates_required_optional_and_refused)
{
    RUN(client_certs);
}

/* ---- ALPN ---- */

static int alpn(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    static const char *const server_protos[] = {"h2", "http/1.1"};
    ASSERT_OK(corio_tls_ctx_set_alpn(sctx, server_protos, 2));
    struct seen w = {0};
    struct tserver ts;
    tserver_start(&ts, sctx, record_handler, &w);

    /* The server's preference wins among what the client offers. */
    corio_tls_ctx *cctx = client_ctx();
    static const char *const client_protos[] = {"http/1.1", "h2"};
    ASSERT_OK(corio_tls_ctx_set_alpn(cctx, client_protos, 2));
    corio_stream *st = tconnect(ts.port, cctx, "localhost");
    ASSERT_NOT_NULL(st);
    ASSERT_STR_EQ(corio_tls_alpn(st), "h2");
    roundtrip(st, "x");
    ASSERT_OK(corio_stream_close(st));
    ASSERT_STR_EQ(w.alpn, "h2");

    static const char *const only11[] = {"http/1.1"};
    ASSERT_OK(corio_tls_ctx_set_alpn(cctx, only11, 1));
    st = tconnect(ts.port, cctx, "localhost");
    ASSERT_NOT_NULL(st);
    ASSERT_STR_EQ(corio_tls_alpn(st), "http/1.1");
    ASSERT_OK(corio_stream_close(st));

    /* No protocol in common: the server refuses (RFC 7301). */
    static const char *const other[] = {"imap"};
    ASSERT_OK(corio_tls_ctx_set_alpn(cctx, other, 1));
    ASSERT_NULL(tconnect(ts.port, cctx, "localhost"));
    ASSERT_ERR(-errno, -ENOPROTOOPT);

    /* A client that offers nothing gets no ALPN. */
    ASSERT_OK(corio_tls_ctx_set_alpn(cctx, NULL, 0));
    st = tconnect(ts.port, cctx, "localhost");
    ASSERT_NOT_NULL(st);
    ASSERT_NULL(corio_tls_alpn(st));
    ASSERT_OK(corio_stream_close(st));

    static const char *const empty[] = {""};
    ASSERT_ERR(corio_tls_ctx_set_alpn(cctx, empty, 1), -EINVAL);
    ASSERT_ERR(corio_tls_ctx_set_alpn(cctx, NULL, 1), -EINVAL);
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(alpn_agrees_on_the_servers_choice_or_refuses)
{
    RUN(alpn);
}

/* ---- sessions and versions ---- */

static void resume_with(int version)
{
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    ASSERT_OK(corio_tls_ctx_set_versions(cctx, 0, version));
    struct seen w = {0};
    struct tserver ts;
    tserver_start(&ts, sctx, record_handler, &w);
    for (int i = 0; i < 3; i++) {
        corio_stream *st = tconnect(ts.port, cctx, "localhost");
        ASSERT_NOT_NULL(st);
        /* TLS 1.3 tickets arrive after the handshake: read once. */
        roundtrip(st, "ticket please\n");
        ASSERT_EQ(corio_tls_resumed(st), i > 0);
        ASSERT_STR_EQ(corio_tls_version(st),
                      version == CORIO_TLS_VERSION_1_2 ? "TLSv1.2"
                                                       : "TLSv1.3");
        /* The certificate is still known on a resumed connection. */
        ASSERT_STR_EQ(corio_tls_peer_subject(st),
                      "CN=localhost,O=corio tests");
        ASSERT_OK(corio_stream_close(st));
        ASSERT_EQ(w.resumed, i > 0);
    }
    /* Sessions are kept per server name: another name starts afresh. */
    corio_stream *st = tconnect(ts.port, cctx, "127.0.0.1");
    ASSERT_NOT_NULL(st);
    ASSERT_FALSE(corio_tls_resumed(st));
    ASSERT_OK(corio_stream_close(st));
    /* Turned off, nothing resumes. */
    ASSERT_OK(corio_tls_ctx_set_session_cache(cctx, 0));
    for (int i = 0; i < 2; i++) {
        st = tconnect(ts.port, cctx, "localhost");
        ASSERT_NOT_NULL(st);
        roundtrip(st, "x");
        ASSERT_FALSE(corio_tls_resumed(st));
        ASSERT_OK(corio_stream_close(st));
    }
    /* And a server without a cache or tickets resumes nothing. */
    ASSERT_OK(corio_tls_ctx_set_session_cache(cctx, 8));
    ASSERT_OK(corio_tls_ctx_set_session_cache(sctx, 0));
    for (int i = 0; i < 2; i++) {
        st = tconnect(ts.port, cctx, "localhost");
        ASSERT_NOT_NULL(st);
        roundtrip(st, "x");
        ASSERT_FALSE(corio_tls_resumed(st));
        ASSERT_OK(corio_stream_close(st));
    }
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
}

static int resume13(void *arg)
{
    (void)arg;
    resume_with(0);
    return 0;
}

static int resume12(void *arg)
{
    (void)arg;
    resume_with(CORIO_TLS_VERSION_1_2);
    return 0;
}

TEST(session_resumption_tls13)
{
    RUN(resume13);
}

TEST(session_resumption_tls12)
{
    RUN(resume12);
}

static int cache_lru(void *arg)
{
    (void)arg;
    /* A cache of two: the least recently used server is forgotten. */
    corio_tls_ctx *sctx = server_ctx();
    corio_tls_ctx *cctx = client_ctx();
    ASSERT_OK(corio_tls_ctx_set_session_cache(cctx, 2));
    struct tserver ts[3];
    for (int i = 0; i < 3; i++)
        tserver_start(&ts[i], sctx, echo_handler, NULL);
    int order[] = {0, 1, 0, 2, 0, 1};
    bool want[] = {false, false, true, false, true, false};
    for (int k = 0; k < 6; k++) {
        corio_stream *st = tconnect(ts[order[k]].port, cctx, "localhost");
        ASSERT_NOT_NULL(st);
        roundtrip(st, "x");
        if (corio_tls_resumed(st) != want[k])
            FAIL("connection %d to server %d: resumed %d", k, order[k],
                 corio_tls_resumed(st));
        ASSERT_OK(corio_stream_close(st));
    }
    for (int i = 0; i < 3; i++)
        tserver_stop(&ts[i]);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(session_cache_forgets_the_least_recently_used)
{
    RUN(cache_lru);
}

static int versions(void *arg)
{
    (void)arg;
    corio_tls_ctx *sctx = server_ctx();
    ASSERT_OK(corio_tls_ctx_set_versions(sctx, CORIO_TLS_VERSION_1_3, 0));
    corio_tls_ctx *cctx = client_ctx();
    ASSERT_OK(corio_tls_ctx_set_versions(cctx, 0, CORIO_TLS_VERSION_1_2));
    struct tserver ts;
    tserver_start(&ts, sctx, echo_handler, NULL);
    /* No version in common. */
    ASSERT_NULL(tconnect(ts.port, cctx, "localhost"));
    ASSERT_ERR(-errno, -EPROTO);
    ASSERT_TRUE(corio_tls_ctx_error(cctx)[0] != '\0');
    ASSERT_ERR(corio_tls_ctx_set_versions(cctx, 0x0301, 0), -EINVAL);
    ASSERT_ERR(corio_tls_ctx_set_versions(cctx, CORIO_TLS_VERSION_1_3,
                                          CORIO_TLS_VERSION_1_2),
               -EINVAL);
    tserver_stop(&ts);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(cctx);
    return 0;
}

TEST(versions_without_overlap_fail)
{
    RUN(versions);
}

/* ---- context settings ---- */

static int settings(void *arg)
{
    (void)arg;
    certs_make();
    ASSERT_NULL(corio_tls_ctx_new(7));
    ASSERT_ERR(-errno, -EINVAL);
    corio_tls_ctx *ctx = corio_tls_ctx_new(CORIO_TLS_SERVER);
    ASSERT_NOT_NULL(ctx);
    ASSERT_STR_EQ(corio_tls_ctx_error(ctx), "");
    ASSERT_NOT_NULL(corio_tls_ctx_openssl(ctx));
    ASSERT_ERR(corio_tls_ctx_load_cert_chain(ctx, "/nonexistent.pem", NULL),
               -ENOENT);
    ASSERT_TRUE(corio_tls_ctx_error(ctx)[0] != '\0');
    ASSERT_ERR(corio_tls_ctx_load_cert_chain(ctx, certs.bad, NULL),
               -EBADMSG);
    ASSERT_ERR(corio_tls_ctx_load_cert_chain(ctx, certs.server,
                                             certs.client_key),
               -EKEYREJECTED);
    ASSERT_TRUE(strstr(corio_tls_ctx_error(ctx), "does not match") != NULL);
    ASSERT_ERR(corio_tls_ctx_load_cert_chain(ctx, certs.server, certs.bad),
               -EBADMSG);
    ASSERT_ERR(corio_tls_ctx_load_cert_chain(ctx, NULL, NULL), -EINVAL);
    ASSERT_OK(corio_tls_ctx_load_cert_chain(ctx, certs.server,
                                            certs.server_key));
    ASSERT_ERR(corio_tls_ctx_load_verify(ctx, "/nonexistent.pem", NULL),
               -ENOENT);
    ASSERT_ERR(corio_tls_ctx_load_verify(ctx, NULL, "/nonexistent.d"),
               -ENOENT);
    ASSERT_ERR(corio_tls_ctx_load_verify(ctx, certs.bad, NULL), -EBADMSG);
    ASSERT_ERR(corio_tls_ctx_load_verify(ctx, NULL, NULL), -EINVAL);
    ASSERT_OK(corio_tls_ctx_load_verify(ctx, certs.ca, certs.dir));
    ASSERT_ERR(corio_tls_ctx_set_verify(ctx, 3), -EINVAL);
    ASSERT_ERR(corio_tls_ctx_set_verify(NULL, 0), -EINVAL);
    ASSERT_ERR(corio_tls_ctx_set_handshake_timeout(ctx, 0.0 / 0.0), -EINVAL);
    ASSERT_OK(corio_tls_ctx_set_handshake_timeout(ctx, 5));
    ASSERT_ERR(corio_tls_ctx_set_session_cache(NULL, 1), -EINVAL);
    /* A client context cannot serve. */
    corio_tls_ctx *cctx = corio_tls_ctx_new(CORIO_TLS_CLIENT);
    ASSERT_NULL(corio_tls_start_server("127.0.0.1", 0, cctx, echo_handler,
                                       NULL, NULL));
    ASSERT_ERR(-errno, -EINVAL);
    ASSERT_NULL(corio_tls_connect(NULL, 1, cctx, NULL));
    ASSERT_ERR(-errno, -EINVAL);
    corio_tls_ctx_free(cctx);
    corio_tls_ctx_free(ctx);
    corio_tls_ctx_free(NULL);
    ASSERT_STR_EQ(corio_tls_ctx_error(NULL), "");
    return 0;
}

TEST(context_settings_and_their_errors)
{
    RUN(settings);
}
