/* SPDX-License-Identifier: MIT
 *
 * The tracking-server backend: http:// and https:// through libcurl.
 *
 *   experiments  POST /api/2.0/mlflow/experiments/search (paged)
 *   scan         POST /api/3.0/mlflow/traces/search; the filter, the order
 *                and the page go to the server when we can spell them
 *                (filter text known, order keys MLflow knows); otherwise
 *                every page is fetched and store.c filters in memory.
 *                A lone `request_id = '...'` uses GET traces/get.
 *   load_spans   GET /api/3.0/mlflow/traces/batchGet (up to 4 requests in
 *                flight), GET /ajax-api/2.0/mlflow/get-trace-artifact as
 *                the fallback for traces whose spans are not in the
 *                tracking store or servers without batchGet.
 *
 * Auth as MLflow: MLFLOW_TRACKING_USERNAME/PASSWORD (basic), else
 * MLFLOW_TRACKING_TOKEN (bearer); MLFLOW_TRACKING_INSECURE_TLS,
 * MLFLOW_TRACKING_SERVER_CERT_PATH, MLFLOW_TRACKING_CLIENT_CERT_PATH.
 * Credentials in the URI (user:pass@host) are taken out of it and used
 * as basic auth; no message ever shows them (messages name the server as
 * scheme://host:port only).
 *
 * Limits (seconds, decimals allowed; environment):
 *   MLSESSION_HTTP_CONNECT_TIMEOUT  10   per connection attempt
 *   MLSESSION_HTTP_TIMEOUT          60   per request (MLFLOW_HTTP_REQUEST_TIMEOUT)
 *   MLSESSION_HTTP_MAX_RETRIES       3   0..3; on 429, 5xx, resets, cut bodies
 *   MLSESSION_HTTP_BACKOFF         0.5   first wait, doubled per retry
 *   MLSESSION_HTTP_RETRY_BUDGET    120   total time for one request + retries
 * Retry-After (seconds) is honoured; one that would overrun the budget
 * fails the request at once. A page that still fails fails the search:
 * nothing partial is ever returned as complete.
 */
#if defined(MS_HAVE_CURL)

#include <curl/curl.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "filter/filter_int.h"
#include "json/json.h"
#include "json/json_write.h"
#include "model/model.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/ids.h"

/* The filter's text, passed through to the server. */
#define FILTER_TEXT(f) ms_filter_text(f)

#define MAX_RETRIES 3
#define MAX_PARALLEL 4
#define SPAN_BATCH 10     /* trace ids per batchGet */
#define SEARCH_PAGE 500   /* page size when every page is fetched */
#define EXP_PAGE 1000
#define MAX_PAGES 100000  /* bounds every paging loop */
#define MAX_BODY ((size_t)1 << 31)
#define MSG_MAX 240       /* server text quoted in a message */

struct rest_conf {
    long connect_ms, timeout_ms, backoff_ms, budget_ms;
    int retries;
};

struct rest_state {
    char *base;  /* scheme://host[:port][/prefix], no userinfo, no trailing '/' */
    char *shown; /* scheme://host[:port] for messages */
    char *user, *pass;
    char *auth_header; /* "Authorization: Bearer ..." or NULL */
    char *ca_path, *client_cert;
    bool insecure;
    bool no_batch_get; /* the server has no traces/batchGet */
    struct rest_conf conf;
    CURL *easy;               /* reused: keeps its connection */
    CURL *par[MAX_PARALLEL];  /* span fetches in flight */
    CURLM *multi;
    CURLSH *share;            /* one connection and DNS cache for all */
    msx_json_parser *parser, *inner;
};

struct resp {
    struct msx_buf body;
    long status;
    long retry_after_s; /* -1: none */
    bool too_big;
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers;
};

/* ---- small helpers ------------------------------------------------------ */

static char *xstrndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static long env_ms(const char *name, const char *alt, double dflt_s)
{
    const char *v = getenv(name);
    if ((!v || !*v) && alt)
        v = getenv(alt);
    double d = dflt_s;
    if (v && *v) {
        char *end;
        errno = 0;
        double x = strtod(v, &end);
        if (!errno && end != v && !*end && x >= 0 && x < 86400)
            d = x;
    }
    return (long)(d * 1000 + 0.5);
}

static bool env_true(const char *name)
{
    const char *v = getenv(name);
    return v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE") ||
                 !strcmp(v, "1"));
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Server text made safe for one line: printable ASCII, capped. */
static void one_line(char *dst, size_t cap, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
    }
    if (k + 4 >= cap && n > k) {
        memcpy(dst + k, "...", 3);
        k += 3;
    }
    dst[k] = '\0';
}

/* ---- one HTTP exchange -------------------------------------------------- */

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = size * n;
    if (r->body.len + len > MAX_BODY) {
        r->too_big = true;
        return 0;
    }
    msx_buf_add(&r->body, p, len);
    return r->body.status == MS_OK ? len : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct resp *r = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        char tmp[32];
        size_t m = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, m);
        tmp[m] = '\0';
        char *end;
        long v = strtol(tmp, &end, 10);
        while (*end == ' ' || *end == '\r' || *end == '\n' || *end == '\t')
            end++;
        /* an HTTP-date is not honoured: the backoff applies */
        if (end != tmp && !*end && v >= 0)
            r->retry_after_s = v;
    }
    return len;
}

static void resp_init(struct resp *r)
{
    memset(r, 0, sizeof *r);
    msx_buf_init(&r->body, MAX_BODY);
    r->retry_after_s = -1;
}

static void resp_clear(struct resp *r)
{
    msx_buf_reset(&r->body);
    r->status = 0;
    r->retry_after_s = -1;
    r->too_big = false;
    r->errbuf[0] = '\0';
}

static void resp_release(struct resp *r)
{
    msx_buf_release(&r->body);
    curl_slist_free_all(r->headers);
    r->headers = NULL;
}

/* Sets h up for one request; body NULL means GET. */
static bool setup(struct rest_state *s, CURL *h, const char *url, const char *body,
                  struct resp *r)
{
    curl_easy_reset(h); /* keeps the connection cache */
    if (!r->headers) {
        struct curl_slist *l = curl_slist_append(NULL, "Content-Type: application/json");
        if (l)
            l = curl_slist_append(l, "Accept: application/json");
        if (l && s->auth_header)
            l = curl_slist_append(l, s->auth_header);
        if (!l)
            return false;
        r->headers = l;
    }
    bool ok = true;
    ok &= curl_easy_setopt(h, CURLOPT_URL, url) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_SHARE, s->share) == CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    ok &= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
#endif
    ok &= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->conf.connect_ms) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->conf.timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->headers) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_USERAGENT, "mlsession/" MS_VERSION_STRING) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_WRITEDATA, r) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_HEADERDATA, r) == CURLE_OK;
    ok &= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->errbuf) == CURLE_OK;
    if (s->user) {
        ok &= curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_USERNAME, s->user) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_PASSWORD, s->pass ? s->pass : "") == CURLE_OK;
    }
    if (s->insecure) {
        ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK;
    }
    if (s->ca_path)
        ok &= curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_path) == CURLE_OK;
    if (s->client_cert)
        ok &= curl_easy_setopt(h, CURLOPT_SSLCERT, s->client_cert) == CURLE_OK;
    if (body) {
        ok &= curl_easy_setopt(h, CURLOPT_POST, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) == CURLE_OK;
        ok &= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) ==
              CURLE_OK;
    } else {
        ok &= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK;
    }
    return ok;
}

/* What one attempt came to. */
enum outcome { OK_DONE, RETRY, FAIL };

static bool transient_curl(CURLcode c)
{
    return c == CURLE_COULDNT_CONNECT || c == CURLE_SEND_ERROR || c == CURLE_RECV_ERROR ||
           c == CURLE_GOT_NOTHING || c == CURLE_PARTIAL_FILE || c == CURLE_HTTP2 ||
           c == CURLE_HTTP2_STREAM;
}

/* The server's "message" from an MLflow error body, else "". */
static void server_message(struct rest_state *s, struct resp *r, char *out, size_t cap,
                           char *code, size_t code_cap)
{
    out[0] = '\0';
    if (code)
        code[0] = '\0';
    msx_json root;
    if (!r->body.len || msx_json_parse(s->parser, r->body.ptr, r->body.len, false, &root,
                                       NULL) != MS_OK)
        return;
    ms_str m = msx_json_str(msx_json_get(root, "message"));
    if (m.ptr)
        one_line(out, cap, m.ptr, m.len);
    ms_str c = msx_json_str(msx_json_get(root, "error_code"));
    if (code && c.ptr)
        one_line(code, code_cap, c.ptr, c.len);
}

/* Classifies a finished attempt; on FAIL sets err (code, one line). */
static enum outcome classify(struct rest_state *s, const char *what, CURLcode cc,
                             struct resp *r, struct ms_error *err)
{
    if (cc != CURLE_OK) {
        if (r->too_big) {
            msi_error(err, MS_E_TOOBIG, "%s: the response is larger than %zu bytes",
                      what, MAX_BODY);
            return FAIL;
        }
        if (cc == CURLE_OPERATION_TIMEDOUT) {
            msi_error(err, MS_E_STORE, "%s: no answer within %.1f s "
                      "(MLSESSION_HTTP_TIMEOUT, MLSESSION_HTTP_CONNECT_TIMEOUT)",
                      what, (double)s->conf.timeout_ms / 1000);
            return FAIL;
        }
        /* curl's own text names host and port only: the URL we give it
         * holds no credentials */
        char line[MSG_MAX];
        one_line(line, sizeof line, r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc),
                 strlen(r->errbuf[0] ? r->errbuf : curl_easy_strerror(cc)));
        msi_error(err, MS_E_STORE, "%s: %s", what, line);
        return transient_curl(cc) ? RETRY : FAIL;
    }
    if (r->status >= 200 && r->status < 300)
        return OK_DONE;
    char msg[MSG_MAX], code[64];
    server_message(s, r, msg, sizeof msg, code, sizeof code);
    const char *sep = msg[0] ? ": " : "";
    if (r->status == 401) {
        msi_error(err, MS_E_STORE, "HTTP 401: authentication failed (set "
                  "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or "
                  "MLFLOW_TRACKING_TOKEN)");
        return FAIL;
    }
    if (r->status == 403) {
        msi_error(err, MS_E_STORE, "HTTP 403: permission denied for %s%s%s", what, sep, msg);
        return FAIL;
    }
    if (r->status == 404) {
        msi_error(err, MS_E_NOTFOUND, "HTTP 404: %s%s%s", what, sep, msg);
        return FAIL;
    }
    if (r->status == 429 || r->status >= 500) {
        msi_error(err, MS_E_STORE, "%s: HTTP %ld%s%s", what, r->status, sep, msg);
        return RETRY;
    }
    bool invalid = r->status == 400 && (!strcmp(code, "INVALID_PARAMETER_VALUE") ||
                                        !strcmp(code, "BAD_REQUEST"));
    msi_error(err, invalid ? MS_E_INVALID : MS_E_STORE, "%s: HTTP %ld%s%s", what,
              r->status, sep, msg);
    return FAIL;
}

/* The wait before retry number `attempt` (0-based), or -1 to give up. */
static long retry_wait(struct rest_state *s, int attempt, struct resp *r, int64_t started,
                       struct ms_error *err)
{
    long wait = s->conf.backoff_ms;
    for (int i = 0; i < attempt && wait < 60000; i++)
        wait *= 2;
    if (r->retry_after_s >= 0)
        wait = r->retry_after_s * 1000;
    int64_t left = s->conf.budget_ms - (now_ms() - started);
    if (wait > left) {
        if (err) {
            char tmp[sizeof err->msg];
            snprintf(tmp, sizeof tmp, "%.120s (giving up: a %.1f s wait would pass the "
                     "%.0f s retry budget)", err->msg,
                     (double)wait / 1000, (double)s->conf.budget_ms / 1000);
            memcpy(err->msg, tmp, sizeof tmp);
        }
        return -1;
    }
    return wait;
}

static void note_retries(struct ms_error *err, int retries)
{
    if (err && retries > 0) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%.200s (after %d %s)", err->msg, retries,
                 retries == 1 ? "retry" : "retries");
        memcpy(err->msg, tmp, sizeof tmp);
    }
}

/* One request with bounded retries on the reusable handle. path starts
 * with '/'; body NULL means GET. The answer's body is in r->body. */
static ms_code http_do(struct rest_state *s, const char *path, const char *body, struct resp *r,
                       struct ms_error *err)
{
    struct msx_buf url;
    msx_buf_init(&url, MSX_CAP_LINE);
    msx_buf_adds(&url, s->base);
    msx_buf_adds(&url, path);
    msx_buf_addc(&url, '\0');
    if (url.status != MS_OK) {
        msx_buf_release(&url);
        return msi_error(err, MS_E_NOMEM, "out of memory");
    }
    /* the path without its query, for messages */
    char what[96];
    size_t wn = strcspn(path, "?");
    snprintf(what, sizeof what, "%.*s", (int)(wn < 90 ? wn : 90), path);
    int64_t started = now_ms();
    ms_code rc = MS_E_STORE;
    for (int attempt = 0;; attempt++) {
        resp_clear(r);
        if (!setup(s, s->easy, url.ptr, body, r)) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            break;
        }
        CURLcode cc = curl_easy_perform(s->easy);
        if (cc == CURLE_OK)
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &r->status);
        enum outcome o = classify(s, what, cc, r, err);
        if (o == OK_DONE) {
            rc = MS_OK;
            break;
        }
        rc = err ? err->code : MS_E_STORE;
        if (o == FAIL) {
            note_retries(err, attempt);
            break;
        }
        if (attempt >= s->conf.retries) {
            note_retries(err, attempt);
            break;
        }
        long wait = retry_wait(s, attempt, r, started, err);
        if (wait < 0)
            break;
        sleep_ms(wait);
    }
    msx_buf_release(&url);
    return rc;
}

/* Parses r's body as one JSON object into root (s->parser). */
static ms_code parse_body(struct rest_state *s, const char *what, struct resp *r, msx_json *root,
                          struct ms_error *err)
{
    struct ms_error perr = {0};
    if (msx_json_parse(s->parser, r->body.ptr ? r->body.ptr : "", r->body.len, false, root,
                       &perr) != MS_OK)
        return msi_error(err, MS_E_PARSE, "%s: the server's answer is not valid JSON "
                         "(byte %lld)", what, (long long)perr.offset);
    if (msx_json_type(*root) != MSX_JSON_OBJECT)
        return msi_error(err, MS_E_PARSE, "%s: the server's answer is not a JSON object",
                         what);
    return MS_OK;
}

/* ---- open / close --------------------------------------------------------- */

static void rest_close(void *state)
{
    struct rest_state *s = state;
    if (!s)
        return;
    for (int i = 0; i < MAX_PARALLEL; i++)
        if (s->par[i])
            curl_easy_cleanup(s->par[i]);
    if (s->multi)
        curl_multi_cleanup(s->multi);
    if (s->easy)
        curl_easy_cleanup(s->easy);
    if (s->share)
        curl_share_cleanup(s->share);
    msx_json_parser_free(s->parser);
    msx_json_parser_free(s->inner);
    free(s->base);
    free(s->shown);
    if (s->pass)
        memset(s->pass, 0, strlen(s->pass));
    if (s->auth_header)
        memset(s->auth_header, 0, strlen(s->auth_header));
    free(s->user);
    free(s->pass);
    free(s->auth_header);
    free(s->ca_path);
    free(s->client_cert);
    free(s);
}

/* %XX-decodes userinfo parts. */
static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *pct_decode(const char *p, size_t n)
{
    char *out = malloc(n + 1);
    size_t k = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%' && i + 2 < n + 1 && i + 2 <= n - 1 && hexval(p[i + 1]) >= 0 &&
            hexval(p[i + 2]) >= 0) {
            out[k++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else
            out[k++] = p[i];
    }
    out[k] = '\0';
    return out;
}

static ms_code rest_open(const char *uri, const char *path, void **state, struct ms_error *err)
{
    (void)path;
    static bool global_done;
    if (!global_done) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return msi_error(err, MS_E_STORE, "libcurl could not start");
        global_done = true;
    }
    struct rest_state *s = calloc(1, sizeof *s);
    if (!s)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    const char *sep = strstr(uri, "://");
    size_t scheme_len = (size_t)(sep - uri);
    const char *auth = sep + 3;
    size_t auth_len = strcspn(auth, "/?#");
    const char *at = memchr(auth, '@', auth_len);
    const char *host = at ? at + 1 : auth;
    size_t host_len = auth_len - (size_t)(host - auth);
    const char *rest = auth + auth_len;
    size_t rest_len = strcspn(rest, "?#");
    while (rest_len && rest[rest_len - 1] == '/')
        rest_len--;
    ms_code rc = MS_OK;
    if (!host_len) {
        rc = msi_error(err, MS_E_INVALID, "%.*s:// uri without a host", (int)scheme_len, uri);
        goto fail;
    }
    s->shown = malloc(scheme_len + 3 + host_len + 1);
    s->base = malloc(scheme_len + 3 + host_len + rest_len + 1);
    if (!s->shown || !s->base) {
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(s->shown, scheme_len + 3 + host_len + 1, "%.*s://%.*s", (int)scheme_len, uri,
             (int)host_len, host);
    snprintf(s->base, scheme_len + 3 + host_len + rest_len + 1, "%s%.*s", s->shown,
             (int)rest_len, rest);
    /* auth: the uri's userinfo, then MLflow's variables */
    const char *eu = getenv("MLFLOW_TRACKING_USERNAME"), *ep = getenv("MLFLOW_TRACKING_PASSWORD");
    const char *tok = getenv("MLFLOW_TRACKING_TOKEN");
    if (at) {
        size_t ui = (size_t)(at - auth);
        const char *colon = memchr(auth, ':', ui);
        s->user = pct_decode(auth, colon ? (size_t)(colon - auth) : ui);
        s->pass = colon ? pct_decode(colon + 1, ui - (size_t)(colon + 1 - auth)) : xstrndup("", 0);
    } else if (eu && *eu && ep) {
        s->user = xstrndup(eu, strlen(eu));
        s->pass = xstrndup(ep, strlen(ep));
    } else if (tok && *tok) {
        size_t n = strlen(tok) + 32;
        s->auth_header = malloc(n);
        if (s->auth_header)
            snprintf(s->auth_header, n, "Authorization: Bearer %s", tok);
    }
    if ((at && (!s->user || !s->pass)) || (tok && *tok && !at && !s->user && !s->auth_header)) {
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
        goto fail;
    }
    s->insecure = env_true("MLFLOW_TRACKING_INSECURE_TLS");
    const char *ca = getenv("MLFLOW_TRACKING_SERVER_CERT_PATH");
    const char *cc = getenv("MLFLOW_TRACKING_CLIENT_CERT_PATH");
    if (ca && *ca && !(s->ca_path = xstrndup(ca, strlen(ca))))
        rc = MS_E_NOMEM;
    if (cc && *cc && !(s->client_cert = xstrndup(cc, strlen(cc))))
        rc = MS_E_NOMEM;
    s->conf.connect_ms = env_ms("MLSESSION_HTTP_CONNECT_TIMEOUT", NULL, 10);
    s->conf.timeout_ms = env_ms("MLSESSION_HTTP_TIMEOUT", "MLFLOW_HTTP_REQUEST_TIMEOUT", 60);
    s->conf.backoff_ms = env_ms("MLSESSION_HTTP_BACKOFF", NULL, 0.5);
    s->conf.budget_ms = env_ms("MLSESSION_HTTP_RETRY_BUDGET", NULL, 120);
    if (s->conf.connect_ms < 1)
        s->conf.connect_ms = 1;
    if (s->conf.timeout_ms < 1)
        s->conf.timeout_ms = 1;
    long r = env_ms("MLSESSION_HTTP_MAX_RETRIES", NULL, MAX_RETRIES) / 1000;
    s->conf.retries = r < 0 ? 0 : r > MAX_RETRIES ? MAX_RETRIES : (int)r;
    s->easy = curl_easy_init();
    s->multi = curl_multi_init();
    s->share = curl_share_init();
    s->parser = msx_json_parser_new();
    if (rc != MS_OK || !s->easy || !s->multi || !s->share || !s->parser) {
        rc = msi_error(err, MS_E_NOMEM, "out of memory");
        goto fail;
    }
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_multi_setopt(s->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)MAX_PARALLEL);
    *state = s;
    return MS_OK;
fail:
    rest_close(s);
    return rc;
}

/* ---- experiments ---------------------------------------------------------- */

static int cmp_ids(const void *x, const void *y)
{
    const ms_experiment *a = x, *b = y;
    if (a->experiment_id.len != b->experiment_id.len)
        return a->experiment_id.len < b->experiment_id.len ? -1 : 1;
    return memcmp(a->experiment_id.ptr, b->experiment_id.ptr, a->experiment_id.len);
}

static ms_str str_of(msx_json v)
{
    ms_str s = msx_json_str(v);
    return s.ptr ? s : (ms_str){"", 0};
}

static ms_code rest_experiments(void *state, struct msx_arena *a, ms_experiment **list,
                                size_t *n, struct ms_error *err)
{
    struct rest_state *s = state;
    struct resp r;
    resp_init(&r);
    struct msx_buf body;
    msx_buf_init(&body, MSX_CAP_LINE);
    char *token = NULL;
    ms_experiment *l = NULL;
    size_t count = 0, cap = 0;
    ms_code rc = MS_OK;
    for (int page = 0; page < MAX_PAGES; page++) {
        msx_buf_reset(&body);
        struct msx_jw w;
        msx_jw_init(&w, &body, 0);
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "max_results");
        msx_jw_int(&w, EXP_PAGE);
        msx_jw_keyz(&w, "view_type");
        msx_jw_strz(&w, "ACTIVE_ONLY");
        if (token) {
            msx_jw_keyz(&w, "page_token");
            msx_jw_strz(&w, token);
        }
        msx_jw_obj_end(&w);
        msx_buf_addc(&body, '\0');
        if (body.status != MS_OK) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            break;
        }
        rc = http_do(s, "/api/2.0/mlflow/experiments/search", body.ptr, &r, err);
        msx_json root;
        if (rc == MS_OK)
            rc = parse_body(s, "experiments/search", &r, &root, err);
        if (rc != MS_OK)
            break;
        msx_json exps = msx_json_get(root, "experiments");
        size_t m = msx_json_count(exps);
        if (count + m > cap) {
            size_t nc = (count + m) * 2 + 8;
            ms_experiment *nl = msx_arena_calloc(a, nc, sizeof *nl);
            if (!nl) {
                rc = msi_error(err, MS_E_NOMEM, "out of memory");
                break;
            }
            if (count)
                memcpy(nl, l, count * sizeof *l);
            l = nl;
            cap = nc;
        }
        for (size_t i = 0; i < m; i++) {
            msx_json e = msx_json_at(exps, i);
            ms_str stage = str_of(msx_json_get(e, "lifecycle_stage"));
            if (stage.len && !(stage.len == 6 && !memcmp(stage.ptr, "active", 6)))
                continue;
            ms_experiment *x = &l[count];
            x->experiment_id = msi_dup(a, str_of(msx_json_get(e, "experiment_id")));
            x->name = msi_dup(a, str_of(msx_json_get(e, "name")));
            x->artifact_location = msi_dup(a, str_of(msx_json_get(e, "artifact_location")));
            x->lifecycle_stage = msi_dup(a, (ms_str){"active", 6});
            x->trace_count = -1;
            if (!x->experiment_id.ptr || !x->name.ptr || !x->artifact_location.ptr ||
                !x->lifecycle_stage.ptr) {
                rc = msi_error(err, MS_E_NOMEM, "out of memory");
                break;
            }
            count++;
        }
        if (rc != MS_OK)
            break;
        ms_str t = msx_json_str(msx_json_get(root, "next_page_token"));
        free(token);
        token = t.ptr && t.len ? xstrndup(t.ptr, t.len) : NULL;
        if (!token)
            break;
        if (page + 1 == MAX_PAGES)
            rc = msi_error(err, MS_E_TOOBIG, "more than %d pages of experiments", MAX_PAGES);
    }
    free(token);
    msx_buf_release(&body);
    resp_release(&r);
    if (rc != MS_OK)
        return rc;
    if (count > 1)
        qsort(l, count, sizeof *l, cmp_ids);
    if (!l && !(l = msx_arena_calloc(a, 1, sizeof *l)))
        return msi_error(err, MS_E_NOMEM, "out of memory");
    *list = l;
    *n = count;
    return MS_OK;
}

/* ---- search --------------------------------------------------------------- */

/* Appends the MLflow spelling of the order's user keys to w as an array;
 * false when a key has no spelling we trust (then order in memory). */
static bool order_json(const ms_order *o, struct msx_jw *w)
{
    msx_jw_arr_begin(w);
    for (size_t i = 0; i < o->n_user; i++) {
        const struct msi_order_key *k = &o->keys[i];
        char buf[160];
        const char *name;
        switch (k->kind) {
        case MSI_O_TIMESTAMP: name = "timestamp_ms"; break;
        case MSI_O_EXECUTION_TIME: name = "execution_time_ms"; break;
        case MSI_O_STATUS: name = "status"; break;
        case MSI_O_REQUEST_ID: name = "request_id"; break;
        case MSI_O_TAG:
            if (k->key && !strcmp(k->key, "mlflow.traceName")) {
                name = "name";
                break;
            }
            return false;
        default:
            return false;
        }
        snprintf(buf, sizeof buf, "%s %s", name, k->asc ? "ASC" : "DESC");
        msx_jw_strz(w, buf);
    }
    msx_jw_arr_end(w);
    return true;
}

/* The search request body; false on a key we cannot push (order NULL then
 * means no order is sent). */
static bool search_body(struct msx_buf *b, const struct msi_scan *scan, const char *filter,
                        const ms_order *order, int64_t max, const char *token)
{
    struct msx_jw w;
    msx_buf_reset(b);
    msx_jw_init(&w, b, 0);
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "locations");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < scan->n_experiment_ids; i++) {
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "type");
        msx_jw_strz(&w, "MLFLOW_EXPERIMENT");
        msx_jw_keyz(&w, "mlflow_experiment");
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "experiment_id");
        msx_jw_strz(&w, scan->experiment_ids[i]);
        msx_jw_obj_end(&w);
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);
    if (filter && *filter) {
        msx_jw_keyz(&w, "filter");
        msx_jw_strz(&w, filter);
    }
    if (order) {
        msx_jw_keyz(&w, "order_by");
        if (!order_json(order, &w))
            return false;
    }
    msx_jw_keyz(&w, "max_results");
    msx_jw_int(&w, max);
    if (token) {
        msx_jw_keyz(&w, "page_token");
        msx_jw_strz(&w, token);
    }
    msx_jw_obj_end(&w);
    msx_buf_addc(b, '\0');
    return true;
}

static void usage_from_metadata(struct rest_state *s, ms_trace_info *info)
{
    for (size_t i = 0; i < info->n_metadata; i++) {
        const ms_kv *kv = &info->metadata[i];
        if (kv->key.len == 23 && !memcmp(kv->key.ptr, "mlflow.trace.tokenUsage", 23)) {
            if (!s->inner && !(s->inner = msx_json_parser_new()))
                return;
            msx_json v;
            if (msx_json_parse(s->inner, kv->value.ptr, kv->value.len, false, &v, NULL) ==
                MS_OK)
                msi_decode_usage(v, &info->usage);
            return;
        }
    }
}

static bool in_scan(const struct msi_scan *scan, ms_str exp)
{
    for (size_t i = 0; i < scan->n_experiment_ids; i++)
        if (exp.ptr && strlen(scan->experiment_ids[i]) == exp.len &&
            !memcmp(scan->experiment_ids[i], exp.ptr, exp.len))
            return true;
    return false;
}

/* Decodes one trace info into a new trace of set. */
static ms_code add_info(struct rest_state *s, msx_json v, ms_trace_set *set, struct ms_error *err)
{
    ms_trace *t = msi_trace_set_append(set);
    if (!t)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    struct msi_decoder d = {msi_trace_set_arena(set), s->inner, err};
    ms_code rc = msi_decode_info(&d, v, &t->info);
    s->inner = d.inner;
    if (rc != MS_OK) {
        msi_trace_set_pop(set);
        return rc;
    }
    usage_from_metadata(s, &t->info);
    /* MLflow's client (Expectation.from_proto) drops the `valid` of every
     * expectation the server sends; its output is the reference */
    for (size_t i = 0; i < t->info.n_assessments; i++) {
        ms_assessment *as = &t->info.assessments[i];
        if (as->is_expectation)
            as->has_valid = false;
    }
    return MS_OK;
}

/* `request_id = 'x'` alone: one GET traces/get. MS_E_UNSUPPORTED when the
 * server has no such route (then search). */
static ms_code get_one(struct rest_state *s, struct msi_scan *scan, const char *id,
                       ms_trace_set *set, struct ms_error *err)
{
    struct resp r;
    resp_init(&r);
    struct msx_buf path;
    msx_buf_init(&path, MSX_CAP_LINE);
    msx_buf_adds(&path, "/api/3.0/mlflow/traces/get?trace_id=");
    char *esc = curl_easy_escape(s->easy, id, 0);
    msx_buf_adds(&path, esc ? esc : "");
    msx_buf_addc(&path, '\0');
    curl_free(esc);
    ms_code rc = path.status == MS_OK && esc ? http_do(s, path.ptr, NULL, &r, err)
                                             : msi_error(err, MS_E_NOMEM, "out of memory");
    if (rc == MS_E_NOTFOUND) {
        char code[64], msg[8];
        server_message(s, &r, msg, sizeof msg, code, sizeof code);
        rc = !strcmp(code, "RESOURCE_DOES_NOT_EXIST") ? MS_OK : MS_E_UNSUPPORTED;
        goto done; /* absent: nothing added */
    }
    msx_json root;
    if (rc == MS_OK)
        rc = parse_body(s, "traces/get", &r, &root, err);
    if (rc == MS_OK) {
        msx_json info = msx_json_get(msx_json_get(root, "trace"), "trace_info");
        if (!msx_json_ok(info))
            rc = msi_error(err, MS_E_PARSE, "traces/get: no trace_info in the answer");
        else if ((rc = add_info(s, info, set, err)) == MS_OK) {
            ms_trace *t = msi_trace_set_mut(set, ms_trace_set_count(set) - 1);
            if (!in_scan(scan, t->info.experiment_id))
                msi_trace_set_pop(set);
        }
    }
done:
    msx_buf_release(&path);
    resp_release(&r);
    return rc;
}

static const char *lone_request_id(const ms_filter *f)
{
    if (!f || f->n != 1)
        return NULL;
    const struct msi_clause *c = &f->clauses[0];
    if (c->field != MSI_F_REQUEST_ID || c->cmp != MSI_C_EQ || c->vkind != MSI_V_STRING ||
        !c->str || strlen(c->str) != c->str_len || !c->str_len)
        return NULL;
    return c->str;
}

static ms_code rest_scan(void *state, struct msi_scan *scan, ms_trace_set *set,
                         struct ms_error *err)
{
    struct rest_state *s = state;
    const char *lone = scan->offset == 0 ? lone_request_id(scan->filter) : NULL;
    if (lone) {
        ms_code rc = get_one(s, scan, lone, set, err);
        if (rc != MS_E_UNSUPPORTED) {
            scan->filter_done = scan->page_done = rc == MS_OK;
            return rc;
        }
    }
    const char *ftext = scan->filter ? FILTER_TEXT(scan->filter) : NULL;
    bool push_filter = !scan->filter || ftext;
    struct msx_buf body;
    msx_buf_init(&body, MSX_CAP_OUTPUT);
    /* the page goes to the server when filter and order can, and when it
     * is a page MLflow serves (max_results <= 50000); "everything" (a
     * session scan) is fetched SEARCH_PAGE at a time */
    bool push_page = push_filter && scan->limit <= 50000 &&
                     search_body(&body, scan, ftext, scan->order, 1, NULL);
    char first_token[96] = "";
    if (push_page && scan->offset > 0) {
        /* MLflow's SQL-store token, as store.c decoded it */
        char json[64];
        int k = snprintf(json, sizeof json, "{\"offset\": %lld}", (long long)scan->offset);
        msx_base64_encode((const unsigned char *)json, (size_t)k, first_token);
    }
    struct resp r;
    resp_init(&r);
    char *token = first_token[0] ? xstrndup(first_token, strlen(first_token)) : NULL;
    ms_code rc = MS_OK;
    bool server_token = false;
    int64_t want = push_page ? scan->limit : SEARCH_PAGE;
    for (int page = 0;; page++) {
        if (page >= MAX_PAGES) {
            rc = msi_error(err, MS_E_TOOBIG, "more than %d pages of traces", MAX_PAGES);
            break;
        }
        if (!search_body(&body, scan, push_filter ? ftext : NULL, push_page ? scan->order : NULL,
                         want, token) ||
            body.status != MS_OK) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            break;
        }
        rc = http_do(s, "/api/3.0/mlflow/traces/search", body.ptr, &r, err);
        msx_json root;
        if (rc == MS_OK)
            rc = parse_body(s, "traces/search", &r, &root, err);
        if (rc != MS_OK)
            break;
        msx_json traces = msx_json_get(root, "traces");
        if (msx_json_ok(traces) && msx_json_type(traces) != MSX_JSON_ARRAY) {
            rc = msi_error(err, MS_E_PARSE, "traces/search: \"traces\" is not an array");
            break;
        }
        size_t m = msx_json_count(traces);
        for (size_t i = 0; i < m && rc == MS_OK; i++)
            rc = add_info(s, msx_json_at(traces, i), set, err);
        if (rc == MS_OK && ms_trace_set_count(set) > MSI_MAX_TRACES)
            rc = msi_error(err, MS_E_TOOBIG, "more than %d traces", MSI_MAX_TRACES);
        if (rc != MS_OK)
            break;
        ms_str t = msx_json_str(msx_json_get(root, "next_page_token"));
        free(token);
        token = t.ptr && t.len ? xstrndup(t.ptr, t.len) : NULL;
        if (t.ptr && t.len && !token) {
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
            break;
        }
        if (push_page) {
            server_token = token != NULL;
            break;
        }
        if (!token)
            break;
    }
    free(token);
    resp_release(&r);
    msx_buf_release(&body);
    if (rc != MS_OK)
        return rc;
    scan->filter_done = push_filter;
    scan->page_done = push_page;
    /* the server decides whether a full page has a next one */
    scan->token_when_full = push_page ? server_token : true;
    return MS_OK;
}

/* ---- spans ------------------------------------------------------------------ */

/* Decodes a JSON array of spans into t (set's arena). */
static ms_code decode_spans(struct rest_state *s, msx_json spans, ms_trace_set *set, ms_trace *t,
                            struct ms_error *err)
{
    size_t count = msx_json_count(spans);
    if (msx_json_type(spans) != MSX_JSON_ARRAY)
        return msi_error(err, MS_E_PARSE, "spans of %s are not an array",
                         t->info.trace_id.ptr ? t->info.trace_id.ptr : "?");
    if (count > MSI_MAX_SPANS_PER_TRACE)
        return msi_error(err, MS_E_TOOBIG, "trace has more spans than the cap");
    t->spans = NULL;
    t->n_spans = 0;
    if (!count)
        return MS_OK;
    struct msx_arena *a = msi_trace_set_arena(set);
    ms_span *sp = msx_arena_calloc(a, count, sizeof *sp);
    if (!sp)
        return msi_error(err, MS_E_NOMEM, "out of memory");
    struct msi_decoder d = {a, s->inner, err};
    for (size_t i = 0; i < count; i++) {
        ms_code rc = msi_decode_span(&d, msx_json_at(spans, i), &sp[i]);
        if (rc != MS_OK) {
            s->inner = d.inner;
            return rc;
        }
    }
    s->inner = d.inner;
    t->spans = sp;
    t->n_spans = count;
    return MS_OK;
}

static bool spans_in_tracking_store(const ms_trace *t)
{
    for (size_t i = 0; i < t->info.n_tags; i++) {
        const ms_kv *kv = &t->info.tags[i];
        if (kv->key.len == 27 && !memcmp(kv->key.ptr, "mlflow.trace.spansLocation", 26 + 1))
            return kv->value.len == 14 && !memcmp(kv->value.ptr, "TRACKING_STORE", 14);
    }
    return false;
}

/* Spans of one trace from its artifact. */
static ms_code artifact_spans(struct rest_state *s, ms_trace_set *set, ms_trace *t,
                              struct resp *r, struct ms_error *err)
{
    struct msx_buf path;
    msx_buf_init(&path, MSX_CAP_LINE);
    msx_buf_adds(&path, "/ajax-api/2.0/mlflow/get-trace-artifact?request_id=");
    char *esc = curl_easy_escape(s->easy, t->info.trace_id.ptr ? t->info.trace_id.ptr : "", 0);
    msx_buf_adds(&path, esc ? esc : "");
    msx_buf_addc(&path, '\0');
    curl_free(esc);
    ms_code rc = path.status == MS_OK && esc ? http_do(s, path.ptr, NULL, r, err)
                                             : msi_error(err, MS_E_NOMEM, "out of memory");
    msx_buf_release(&path);
    msx_json root;
    if (rc == MS_OK)
        rc = parse_body(s, "get-trace-artifact", r, &root, err);
    if (rc == MS_OK)
        rc = decode_spans(s, msx_json_get(root, "spans"), set, t, err);
    return rc;
}

struct batch {
    size_t from, to; /* indexes into the set */
    bool artifact;   /* one trace by get-trace-artifact, else batchGet */
    struct msx_buf path;
    struct resp r;
    CURLcode cc;
    bool done;
};

/* Takes one batchGet answer: spans into the set's traces. */
static ms_code take_batch(struct rest_state *s, ms_trace_set *set, struct batch *b, bool *got,
                          struct ms_error *err)
{
    msx_json root;
    ms_code rc = parse_body(s, "traces/batchGet", &b->r, &root, err);
    if (rc != MS_OK)
        return rc;
    msx_json traces = msx_json_get(root, "traces");
    size_t m = msx_json_count(traces);
    for (size_t i = 0; i < m; i++) {
        msx_json tr = msx_json_at(traces, i);
        ms_str id = msx_json_str(msx_json_get(msx_json_get(tr, "trace_info"), "trace_id"));
        for (size_t j = b->from; id.ptr && j < b->to; j++) {
            ms_trace *t = msi_trace_set_mut(set, j);
            if (got[j] || t->info.trace_id.len != id.len ||
                memcmp(t->info.trace_id.ptr, id.ptr, id.len))
                continue;
            msx_json spans = msx_json_get(tr, "spans");
            if (msx_json_ok(spans) && (rc = decode_spans(s, spans, set, t, err)) != MS_OK)
                return rc;
            got[j] = msx_json_count(spans) > 0 || spans_in_tracking_store(t);
        }
    }
    return MS_OK;
}

static ms_code rest_load_spans(void *state, ms_trace_set *set, size_t from, size_t to,
                               struct ms_error *err)
{
    struct rest_state *s = state;
    if (to <= from)
        return MS_OK;
    /* The artifact route answers in the V3 span form (attribute values
     * JSON-encoded, as MLflow's client shows them); batchGet answers in
     * OTLP proto-JSON with decoded values, which the model decoder does
     * not re-encode yet. So: artifacts first, in parallel, batchGet when
     * MLSESSION_REST_SPANS=batch or when a trace has no artifact. */
    const char *via = getenv("MLSESSION_REST_SPANS");
    bool use_batch = via && !strcmp(via, "batch") && !s->no_batch_get;
    size_t per = use_batch ? SPAN_BATCH : 1;
    size_t n = to - from, nb = (n + per - 1) / per;
    bool *got = calloc(to, sizeof *got);
    struct batch *bs = calloc(nb, sizeof *bs);
    ms_code rc = MS_OK;
    if (!got || !bs) {
        free(got);
        free(bs);
        return msi_error(err, MS_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nb; i++) {
        struct batch *b = &bs[i];
        b->from = from + i * per;
        b->to = b->from + per < to ? b->from + per : to;
        b->artifact = !use_batch;
        resp_init(&b->r);
        msx_buf_init(&b->path, MSX_CAP_LINE);
        msx_buf_adds(&b->path, use_batch ? "/api/3.0/mlflow/traces/batchGet"
                                         : "/ajax-api/2.0/mlflow/get-trace-artifact");
        for (size_t j = b->from; j < b->to; j++) {
            const ms_trace *t = msi_trace_set_mut(set, j);
            char *esc = curl_easy_escape(s->easy, t->info.trace_id.ptr ? t->info.trace_id.ptr
                                                                       : "", 0);
            msx_buf_adds(&b->path, !use_batch ? "?request_id="
                                   : j == b->from ? "?trace_ids=" : "&trace_ids=");
            msx_buf_adds(&b->path, esc ? esc : "");
            if (!esc)
                b->path.status = MS_E_NOMEM;
            curl_free(esc);
        }
        msx_buf_addc(&b->path, '\0');
        if (b->path.status != MS_OK)
            rc = msi_error(err, MS_E_NOMEM, "out of memory");
    }
    /* first attempts: up to MAX_PARALLEL in flight over the multi handle */
    if (rc == MS_OK) {
        size_t next = 0, running_n = 0;
        struct batch *slot[MAX_PARALLEL] = {0};
        char url[4096];
        for (int i = 0; i < MAX_PARALLEL && rc == MS_OK; i++)
            if (!s->par[i] && !(s->par[i] = curl_easy_init()))
                rc = msi_error(err, MS_E_NOMEM, "out of memory");
        int64_t started = now_ms();
        while (rc == MS_OK && (next < nb || running_n)) {
            for (int i = 0; i < MAX_PARALLEL && next < nb; i++) {
                if (slot[i])
                    continue;
                struct batch *b = &bs[next++];
                int k = snprintf(url, sizeof url, "%s%s", s->base, b->path.ptr);
                if (k >= (int)sizeof url) { /* too long for here: the serial pass takes it */
                    b->cc = CURLE_URL_MALFORMAT;
                    b->done = true;
                    continue;
                }
                if (!setup(s, s->par[i], url, NULL, &b->r)) {
                    rc = msi_error(err, MS_E_NOMEM, "out of memory");
                    break;
                }
                curl_easy_setopt(s->par[i], CURLOPT_PRIVATE, (void *)b);
                curl_easy_setopt(s->par[i], CURLOPT_SHARE, (CURLSH *)NULL);
                curl_multi_add_handle(s->multi, s->par[i]);
                slot[i] = b;
                running_n++;
            }
            int still = 0;
            if (curl_multi_perform(s->multi, &still) != CURLM_OK)
                rc = msi_error(err, MS_E_STORE, "libcurl multi failed");
            CURLMsg *msg;
            int left;
            while ((msg = curl_multi_info_read(s->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                    continue;
                for (int i = 0; i < MAX_PARALLEL; i++)
                    if (s->par[i] == msg->easy_handle && slot[i]) {
                        slot[i]->cc = msg->data.result;
                        if (msg->data.result == CURLE_OK)
                            curl_easy_getinfo(s->par[i], CURLINFO_RESPONSE_CODE,
                                              &slot[i]->r.status);
                        slot[i]->done = true;
                        curl_multi_remove_handle(s->multi, s->par[i]);
                        slot[i] = NULL;
                        running_n--;
                    }
            }
            if (running_n && rc == MS_OK)
                curl_multi_poll(s->multi, NULL, 0, 200, NULL);
            /* the per-request timeout bounds each transfer; this bounds the loop */
            if (now_ms() - started > s->conf.budget_ms + s->conf.timeout_ms)
                rc = msi_error(err, MS_E_STORE, "span fetches did not finish in time");
        }
        for (int i = 0; i < MAX_PARALLEL; i++)
            if (slot[i])
                curl_multi_remove_handle(s->multi, s->par[i]);
    }
    /* answers: take the good ones; retry the rest serially (bounded) */
    struct resp ar;
    resp_init(&ar);
    for (size_t i = 0; i < nb && rc == MS_OK; i++) {
        struct batch *b = &bs[i];
        bool ok = b->done && b->cc == CURLE_OK && b->r.status >= 200 && b->r.status < 300;
        if (!ok)
            rc = http_do(s, b->path.ptr, NULL, &b->r, err);
        if (rc == MS_OK && !b->artifact)
            rc = take_batch(s, set, b, got, err);
        else if (rc == MS_OK) {
            msx_json root;
            rc = parse_body(s, "get-trace-artifact", &b->r, &root, err);
            if (rc == MS_OK)
                rc = decode_spans(s, msx_json_get(root, "spans"), set,
                                  msi_trace_set_mut(set, b->from), err);
            got[b->from] = rc == MS_OK;
        } else if (rc == MS_E_NOTFOUND && b->artifact && !s->no_batch_get) {
            /* no artifact: the tracking store may hold the spans */
            msx_buf_reset(&b->path);
            msx_buf_adds(&b->path, "/api/3.0/mlflow/traces/batchGet?trace_ids=");
            const ms_trace *one = msi_trace_set_mut(set, b->from);
            const char *tid = one->info.trace_id.ptr ? one->info.trace_id.ptr : "";
            char *esc = curl_easy_escape(s->easy, tid, 0);
            msx_buf_adds(&b->path, esc ? esc : "");
            msx_buf_addc(&b->path, '\0');
            curl_free(esc);
            rc = esc && b->path.status == MS_OK ? http_do(s, b->path.ptr, NULL, &b->r, err)
                                                : msi_error(err, MS_E_NOMEM, "out of memory");
            if (rc == MS_OK)
                rc = take_batch(s, set, b, got, err);
            if (rc == MS_OK && !got[b->from])
                rc = msi_error(err, MS_E_NOTFOUND, "the spans of trace %s are not on the "
                               "server", msi_trace_set_mut(set, b->from)->info.trace_id.ptr);
        } else if (rc != MS_OK && !b->artifact &&
                   (b->r.status == 404 || b->r.status == 405 || b->r.status == 501)) {
            s->no_batch_get = true; /* old server: artifacts below */
            rc = MS_OK;
        }
    }
    /* batchGet left these out: their spans live in artifacts */
    for (size_t j = from; j < to && rc == MS_OK; j++)
        if (!got[j] && use_batch)
            rc = artifact_spans(s, set, msi_trace_set_mut(set, j), &ar, err);
    resp_release(&ar);
    for (size_t i = 0; i < nb; i++) {
        resp_release(&bs[i].r);
        msx_buf_release(&bs[i].path);
    }
    free(bs);
    free(got);
    return rc;
}

const struct msi_store_ops msi_store_rest = {
    2, "http", rest_open, rest_close, rest_experiments, rest_scan, rest_load_spans, NULL,
};

#else
/* Built without libcurl (MS_HAVE_CURL unset): no http backend. */
typedef int msi_store_rest_unused;
#endif
