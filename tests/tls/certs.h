/* SPDX-License-Identifier: MIT */
/* Certificates made at test time with OpenSSL's API, so that none is
 * committed and none expires: a CA, a server certificate for localhost,
 * 127.0.0.1 and ::1 (subjectAltName), a client certificate, a certificate
 * for another name from the same CA, a wildcard one (*.wild.example) from
 * it too, and a rogue CA with its own localhost certificate. EC P-256 keys, which take a millisecond each.
 * PEM files go to a fresh directory that is removed at exit. */
#ifndef CORIO_TEST_TLS_CERTS_H
#define CORIO_TEST_TLS_CERTS_H

#include "harness.h"

#include <ftw.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

struct certs {
    char dir[64];
    char ca[96];          /* the CA's certificate */
    char server[96];      /* localhost, 127.0.0.1, ::1; signed by ca */
    char server_key[96];
    char client[96];      /* CN=corio test client; signed by ca */
    char client_key[96];
    char other[96];       /* other.example only; signed by ca */
    char other_key[96];
    char wild[96];        /* *.wild.example; signed by ca */
    char wild_key[96];
    char rogue_ca[96];    /* another CA */
    char rogue[96];       /* localhost; signed by rogue_ca */
    char rogue_key[96];
    char bad[96];         /* not PEM */
};

static struct certs certs;

static EVP_PKEY *cert_key(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    if (!k)
        FAIL("EVP_EC_gen failed");
    return k;
}

static void cert_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!e || !X509_add_ext(x, e, -1))
        FAIL("extension %d=%s", nid, value);
    X509_EXTENSION_free(e);
}

/* A certificate for cn with key, signed by issuer (NULL: self-signed). */
static X509 *cert_make(const char *cn, EVP_PKEY *key, X509 *issuer,
                       EVP_PKEY *issuer_key, bool ca, const char *san)
{
    static long serial = 1;
    X509 *x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 30);
    X509_set_pubkey(x, key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               (const unsigned char *)"corio tests", -1, -1,
                               0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
    X509 *iss = issuer ? issuer : x;
    if (ca) {
        cert_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE");
        cert_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        cert_ext(x, iss, NID_basic_constraints, "CA:FALSE");
        cert_ext(x, iss, NID_ext_key_usage, "serverAuth,clientAuth");
    }
    cert_ext(x, iss, NID_subject_key_identifier, "hash");
    if (issuer)
        cert_ext(x, iss, NID_authority_key_identifier, "keyid");
    if (san)
        cert_ext(x, iss, NID_subject_alt_name, san);
    if (!X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()))
        FAIL("X509_sign failed");
    return x;
}

static void cert_write(const char *path, X509 *x, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    if (!f)
        FAIL("fopen %s: %s", path, strerror(errno));
    if (x)
        PEM_write_X509(f, x);
    if (key)
        PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static int cert_rm(const char *path, const struct stat *st, int flag,
                   struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void certs_cleanup(void)
{
    if (certs.dir[0])
        nftw(certs.dir, cert_rm, 8, FTW_DEPTH | FTW_PHYS);
}

/* A leaf certificate for cn (and san, if not NULL) signed by ca, written
 * to certfile with its new key in keyfile. */
static void cert_leaf(const char *cn, const char *san, X509 *ca,
                      EVP_PKEY *cak, const char *certfile,
                      const char *keyfile)
{
    EVP_PKEY *k = cert_key();
    X509 *x = cert_make(cn, k, ca, cak, false, san);
    cert_write(certfile, x, NULL);
    cert_write(keyfile, NULL, k);
    X509_free(x);
    EVP_PKEY_free(k);
}

/* Make the files once per process. */
static void certs_make(void)
{
    if (certs.dir[0])
        return;
    snprintf(certs.dir, sizeof certs.dir, "/tmp/corio-tls-XXXXXX");
    if (!mkdtemp(certs.dir))
        FAIL("mkdtemp: %s", strerror(errno));
    atexit(certs_cleanup);
#define P(field, name)                                                       \
    snprintf(certs.field, sizeof certs.field, "%s/" name, certs.dir)
    P(ca, "ca.pem");
    P(server, "server.pem");
    P(server_key, "server.key");
    P(client, "client.pem");
    P(client_key, "client.key");
    P(other, "other.pem");
    P(other_key, "other.key");
    P(wild, "wild.pem");
    P(wild_key, "wild.key");
    P(rogue_ca, "rogue-ca.pem");
    P(rogue, "rogue.pem");
    P(rogue_key, "rogue.key");
    P(bad, "bad.pem");
#undef P
    EVP_PKEY *cak = cert_key();
    X509 *ca = cert_make("corio test CA", cak, NULL, NULL, true, NULL);
    cert_write(certs.ca, ca, NULL);

    cert_leaf("localhost", "DNS:localhost,IP:127.0.0.1,IP:::1", ca, cak,
              certs.server, certs.server_key);
    cert_leaf("corio test client", NULL, ca, cak, certs.client,
              certs.client_key);
    cert_leaf("other.example", "DNS:other.example", ca, cak, certs.other,
              certs.other_key);
    cert_leaf("wild.example", "DNS:*.wild.example", ca, cak, certs.wild,
              certs.wild_key);

    EVP_PKEY *rk = cert_key();
    X509 *rca = cert_make("rogue CA", rk, NULL, NULL, true, NULL);
    cert_write(certs.rogue_ca, rca, NULL);
    cert_leaf("localhost", "DNS:localhost,IP:127.0.0.1", rca, rk, certs.rogue,
              certs.rogue_key);
    X509_free(rca);
    EVP_PKEY_free(rk);
    X509_free(ca);
    EVP_PKEY_free(cak);

    FILE *f = fopen(certs.bad, "w");
    fputs("this is not a certificate\n", f);
    fclose(f);
}

#endif
