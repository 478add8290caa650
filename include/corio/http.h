/* SPDX-License-Identifier: MIT */
/* HTTP for corio: the corio_http library (pkg-config corio_http, CMake
 * corio::corio_http). This header has what servers and clients share: the
 * status reason phrases and a small JSON writer; it includes the server
 * framework (corio/http_server.h) and the client (corio/http_client.h).
 * The core library does not depend on it. */
#ifndef CORIO_HTTP_H
#define CORIO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "corio/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reason phrase of an HTTP status code ("Not Found" for 404), or
 * "Unknown" for a code it does not know. Never suspends. */
CORIO_API const char *corio_http_reason(int status);

/* ---- a JSON writer (Python's json.dumps, built call by call) ----
 *
 * Values go in document order; commas and quoting are the writer's. A
 * failed call (-ENOMEM, or -EINVAL for a value where only a key may go)
 * is remembered: later calls return the same error, and
 * corio_http_json_data returns NULL. */
typedef struct corio_http_json {
    uint64_t opaque_[6];
} corio_http_json;

/* An empty writer in caller storage. Never suspends. */
CORIO_API void corio_http_json_init(corio_http_json *j);

/* Free what the writer allocated; it may be initialised again. Never
 * suspends. */
CORIO_API void corio_http_json_free(corio_http_json *j);

/* Open and close an object ({}) or an array ([]); at most 64 levels. 0 or
 * a negative errno. Never suspend. */
CORIO_API int corio_http_json_begin_object(corio_http_json *j);
CORIO_API int corio_http_json_end_object(corio_http_json *j);
CORIO_API int corio_http_json_begin_array(corio_http_json *j);
CORIO_API int corio_http_json_end_array(corio_http_json *j);

/* The key of the next member of the open object. 0 or a negative errno.
 * Never suspends. */
CORIO_API int corio_http_json_key(corio_http_json *j, const char *key);

/* Values: a string (escaped as JSON requires; n bytes for _stringn, which
 * may hold NULs), an integer, a double (non-finite ones are written as
 * null), a boolean, null. 0 or a negative errno. Never suspend. */
CORIO_API int corio_http_json_string(corio_http_json *j, const char *s);
CORIO_API int corio_http_json_stringn(corio_http_json *j, const char *s,
                                      size_t n);
CORIO_API int corio_http_json_int(corio_http_json *j, int64_t v);
CORIO_API int corio_http_json_double(corio_http_json *j, double v);
CORIO_API int corio_http_json_bool(corio_http_json *j, bool v);
CORIO_API int corio_http_json_null(corio_http_json *j);

/* The JSON text (NUL-terminated; its length in *len if len is not NULL)
 * once a value is complete, or NULL while an object or array is open,
 * before any value, and after a failed call. Valid until the next call
 * on j. Never suspends. */
CORIO_API const char *corio_http_json_data(const corio_http_json *j,
                                           size_t *len);

#ifdef __cplusplus
}
#endif

#include "corio/http_client.h"
#include "corio/http_server.h"

#endif
