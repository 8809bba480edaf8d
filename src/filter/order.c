/* SPDX-License-Identifier: MIT
 *
 * order_by for trace searches, as MLflow 3.17.2's SQL store reads it:
 * "<key> [ASC|DESC]" with key timestamp(_ms), execution_time(_ms), status,
 * request_id, experiment_id, name (tag mlflow.traceName), run_id (metadata
 * mlflow.sourceRun), tag.<k> or metadata.<k>, optionally prefixed by trace.
 * or attribute(s). Values missing on a trace (NULL execution time, absent
 * tag) sort last in both directions (MLflow orders by "value IS NULL"
 * first). timestamp_ms DESC then request_id ASC are appended unless given.
 * Depends on libc and util/ only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter/filter_int.h"
#include "filter/filter_sql.h"
#include "util/buf.h"

static ms_code ofail(struct ms_error *err, size_t idx, size_t n, size_t off, const char *msg,
                     const char *arg, size_t arg_len)
{
    if (err) {
        err->code = MS_E_PARSE;
        err->offset = (int64_t)off;
        if (n > 1)
            snprintf(err->msg, sizeof err->msg, "order_by #%zu: %s%.*s%s", idx + 1, msg,
                     (int)arg_len, arg ? arg : "", arg ? "'" : "");
        else
            snprintf(err->msg, sizeof err->msg, "order_by: %s%.*s%s", msg, (int)arg_len,
                     arg ? arg : "", arg ? "'" : "");
    }
    return MS_E_PARSE;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '$' || c >= 0x80;
}

static bool ieq(const char *a, size_t n, const char *b)
{
    if (n != strlen(b))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != b[i])
            return false;
    }
    return true;
}

static bool eq(const char *a, size_t n, const char *b)
{
    return n == strlen(b) && memcmp(a, b, n) == 0;
}

static ms_code add_key(ms_order *o, enum msi_order_kind kind, const char *key, size_t klen,
                       bool asc, struct ms_error *err)
{
    struct msi_order_key *nk = realloc(o->keys, (o->n + 1) * sizeof *nk);
    if (!nk)
        goto oom;
    o->keys = nk;
    struct msi_order_key *k = &o->keys[o->n];
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->asc = asc;
    if (key) {
        k->key = malloc(klen + 1);
        if (!k->key)
            goto oom;
        memcpy(k->key, key, klen);
        k->key[klen] = '\0';
        k->key_len = klen;
    }
    o->n++;
    return MS_OK;
oom:
    if (err) {
        err->code = MS_E_NOMEM;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    return MS_E_NOMEM;
}

void ms_order_free(ms_order *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n; i++)
        free(o->keys[i].key);
    free(o->keys);
    free(o);
}

static bool same_key(const struct msi_order_key *a, enum msi_order_kind kind, const char *key,
                     size_t klen)
{
    if (a->kind != kind)
        return false;
    if (!key)
        return true;
    return a->key_len == klen && memcmp(a->key, key, klen) == 0;
}

static ms_code parse_one(ms_order *o, const char *s, size_t idx, size_t total,
                         struct ms_error *err)
{
    size_t n = strlen(s);
    size_t pos = 0;
    while (pos < n && is_ws(s[pos]))
        pos++;
    if (pos == n)
        return ofail(err, idx, total, pos, "expected a key", NULL, 0);
    /* identifier: segments separated by dots, a segment bare or `quoted` */
    size_t start = pos;
    size_t dot = (size_t)-1; /* first dot outside backticks */
    while (pos < n && !is_ws(s[pos])) {
        if (s[pos] == '`') {
            const char *close = memchr(s + pos + 1, '`', n - pos - 1);
            if (!close)
                return ofail(err, idx, total, pos, "unterminated quoted key", NULL, 0);
            pos = (size_t)(close - s) + 1;
            continue;
        }
        if (s[pos] == '.') {
            if (dot == (size_t)-1)
                dot = pos;
            pos++;
            continue;
        }
        if (!is_name_char((unsigned char)s[pos]))
            return ofail(err, idx, total, pos, "unexpected character in key", NULL, 0);
        pos++;
    }
    size_t end = pos;
    while (pos < n && is_ws(s[pos]))
        pos++;
    bool asc = true;
    if (pos < n) {
        size_t w = pos;
        while (pos < n && !is_ws(s[pos]))
            pos++;
        if (ieq(s + w, pos - w, "asc"))
            asc = true;
        else if (ieq(s + w, pos - w, "desc"))
            asc = false;
        else
            return ofail(err, idx, total, w, "expected ASC or DESC, not '", s + w, pos - w);
        while (pos < n && is_ws(s[pos]))
            pos++;
        if (pos < n)
            return ofail(err, idx, total, pos, "expected the end after ASC or DESC", NULL, 0);
    }

    const char *ent = NULL, *key = s + start;
    size_t ent_len = 0, key_len = end - start, key_off = start;
    if (dot != (size_t)-1) {
        ent = s + start;
        ent_len = dot - start;
        key = s + dot + 1;
        key_len = end - dot - 1;
        key_off = dot + 1;
    }
    if (ent && ent_len >= 2 && ent[0] == '`' && ent[ent_len - 1] == '`') {
        ent++;
        ent_len -= 2;
    }
    if (key_len >= 2 && key[0] == '`' && key[key_len - 1] == '`') {
        key++;
        key_len -= 2;
    }
    enum { ATTR, TAG, META } e = ATTR;
    if (ent) {
        if (eq(ent, ent_len, "attribute") || eq(ent, ent_len, "attributes") ||
            eq(ent, ent_len, "trace"))
            e = ATTR;
        else if (eq(ent, ent_len, "tag") || eq(ent, ent_len, "tags"))
            e = TAG;
        else if (eq(ent, ent_len, "metadata") || eq(ent, ent_len, "request_metadata"))
            e = META;
        else
            return ofail(err, idx, total, start,
                         "cannot order by this entity: expected trace, tag or metadata, not '",
                         ent, ent_len);
    }
    if (key_len == 0)
        return ofail(err, idx, total, key_off, "expected a key", NULL, 0);

    enum msi_order_kind kind;
    const char *k = NULL;
    size_t kl = 0;
    if (e == ATTR) {
        static const struct {
            const char *name;
            enum msi_order_kind kind;
        } tab[] = {
            {"timestamp", MSI_O_TIMESTAMP},     {"timestamp_ms", MSI_O_TIMESTAMP},
            {"execution_time", MSI_O_EXECUTION_TIME},
            {"execution_time_ms", MSI_O_EXECUTION_TIME},
            {"status", MSI_O_STATUS},           {"request_id", MSI_O_REQUEST_ID},
            {"experiment_id", MSI_O_EXPERIMENT_ID},
        };
        bool found = false;
        kind = MSI_O_TIMESTAMP;
        for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
            if (eq(key, key_len, tab[i].name)) {
                kind = tab[i].kind;
                found = true;
            }
        if (eq(key, key_len, "name")) {
            kind = MSI_O_TAG;
            k = "mlflow.traceName";
            found = true;
        } else if (eq(key, key_len, "run_id")) {
            kind = MSI_O_METADATA;
            k = "mlflow.sourceRun";
            found = true;
        } else if (eq(key, key_len, "end_time") || eq(key, key_len, "end_time_ms")) {
            /* valid for MLflow's parser, but its store has no such column */
            return ofail(err, idx, total, key_off, "cannot order by '", key, key_len);
        }
        if (!found)
            return ofail(err, idx, total, key_off, "unknown order_by key '", key, key_len);
    } else {
        /* MLflow remaps these keys by key.lower() whatever the entity */
        if (ieq(key, key_len, "name")) {
            kind = MSI_O_TAG;
            k = "mlflow.traceName";
        } else if (ieq(key, key_len, "run_id")) {
            kind = MSI_O_METADATA;
            k = "mlflow.sourceRun";
        } else if (ieq(key, key_len, "prompt") || ieq(key, key_len, "text")) {
            return ofail(err, idx, total, key_off, "cannot order by '", key, key_len);
        } else {
            kind = e == TAG ? MSI_O_TAG : MSI_O_METADATA;
            k = key;
            if (ieq(key, key_len, "timestamp"))
                k = "timestamp_ms";
            else if (ieq(key, key_len, "execution_time"))
                k = "execution_time_ms";
            else if (ieq(key, key_len, "end_time"))
                k = "end_time_ms";
        }
        if (k != key)
            key_len = strlen(k);
        if (kind == MSI_O_METADATA && (eq(k, key_len, "mlflow.trace.tokenUsage") ||
                                       eq(k, key_len, "mlflow.trace.cost")))
            return ofail(err, idx, total, key_off,
                         "cannot order by reserved metadata '", k, key_len);
    }
    if (k)
        kl = k == key ? key_len : strlen(k);
    for (size_t i = 0; i < o->n; i++)
        if (same_key(&o->keys[i], kind, k, kl))
            return ofail(err, idx, total, start, "duplicate order_by key '", s + start,
                         end - start);
    return add_key(o, kind, k, kl, asc, err);
}

ms_code ms_order_parse(const char *const *clauses, size_t n, ms_order **out,
                       struct ms_error *err)
{
    *out = NULL;
    ms_order *o = calloc(1, sizeof *o);
    if (!o) {
        if (err) {
            err->code = MS_E_NOMEM;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "out of memory");
        }
        return MS_E_NOMEM;
    }
    ms_code rc = MS_OK;
    for (size_t i = 0; i < n && rc == MS_OK; i++)
        rc = parse_one(o, clauses[i] ? clauses[i] : "", i, n, err);
    o->n_user = o->n;
    bool has_ts = false, has_id = false;
    for (size_t i = 0; i < o->n; i++) {
        has_ts |= o->keys[i].kind == MSI_O_TIMESTAMP;
        has_id |= o->keys[i].kind == MSI_O_REQUEST_ID;
    }
    if (rc == MS_OK && !has_ts)
        rc = add_key(o, MSI_O_TIMESTAMP, NULL, 0, false, err);
    if (rc == MS_OK && !has_id)
        rc = add_key(o, MSI_O_REQUEST_ID, NULL, 0, true, err);
    if (rc) {
        ms_order_free(o);
        return rc;
    }
    *out = o;
    return MS_OK;
}

/* ---- comparing -------------------------------------------------------- */

static const ms_kv *kv_find(const ms_kv *kv, size_t n, const char *key, size_t klen)
{
    for (size_t i = 0; i < n; i++)
        if (kv[i].key.len == klen && memcmp(kv[i].key.ptr, key, klen) == 0)
            return &kv[i];
    return NULL;
}

/* SQLite's BINARY collation: memcmp, then the shorter first. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int r = m ? memcmp(a, b, m) : 0;
    if (r)
        return r < 0 ? -1 : 1;
    return an < bn ? -1 : an > bn;
}

static bool to_i64(ms_str s, int64_t *out)
{
    if (!s.ptr || s.len == 0 || s.len > 20)
        return false;
    char buf[24];
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end)
        return false;
    *out = v;
    return true;
}

static int i64_cmp(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* One key: sets *a_null / *b_null, returns the comparison of present values. */
static int key_cmp(const struct msi_order_key *k, const ms_trace *a, const ms_trace *b,
                   bool *a_null, bool *b_null)
{
    *a_null = *b_null = false;
    switch (k->kind) {
    case MSI_O_TIMESTAMP:
        return i64_cmp(a->info.request_time_ms, b->info.request_time_ms);
    case MSI_O_EXECUTION_TIME:
        *a_null = !a->info.has_execution_duration;
        *b_null = !b->info.has_execution_duration;
        return i64_cmp(a->info.execution_duration_ms, b->info.execution_duration_ms);
    case MSI_O_STATUS: {
        const char *sa = msi_state_name(a->info.state), *sb = msi_state_name(b->info.state);
        return bytes_cmp(sa, strlen(sa), sb, strlen(sb));
    }
    case MSI_O_REQUEST_ID:
        return bytes_cmp(a->info.trace_id.ptr ? a->info.trace_id.ptr : "", a->info.trace_id.len,
                         b->info.trace_id.ptr ? b->info.trace_id.ptr : "", b->info.trace_id.len);
    case MSI_O_EXPERIMENT_ID: {
        int64_t ia, ib;
        if (to_i64(a->info.experiment_id, &ia) && to_i64(b->info.experiment_id, &ib))
            return i64_cmp(ia, ib);
        return bytes_cmp(a->info.experiment_id.ptr ? a->info.experiment_id.ptr : "",
                         a->info.experiment_id.len,
                         b->info.experiment_id.ptr ? b->info.experiment_id.ptr : "",
                         b->info.experiment_id.len);
    }
    case MSI_O_TAG:
    case MSI_O_METADATA: {
        bool tag = k->kind == MSI_O_TAG;
        const ms_kv *ea = tag ? kv_find(a->info.tags, a->info.n_tags, k->key, k->key_len)
                              : kv_find(a->info.metadata, a->info.n_metadata, k->key, k->key_len);
        const ms_kv *eb = tag ? kv_find(b->info.tags, b->info.n_tags, k->key, k->key_len)
                              : kv_find(b->info.metadata, b->info.n_metadata, k->key, k->key_len);
        *a_null = !ea;
        *b_null = !eb;
        if (!ea || !eb)
            return 0;
        return bytes_cmp(ea->value.ptr ? ea->value.ptr : "", ea->value.len,
                         eb->value.ptr ? eb->value.ptr : "", eb->value.len);
    }
    }
    return 0;
}

int ms_order_compare(const ms_order *o, const ms_trace *a, const ms_trace *b)
{
    if (!o)
        return 0;
    for (size_t i = 0; i < o->n; i++) {
        const struct msi_order_key *k = &o->keys[i];
        bool an, bn;
        int r = key_cmp(k, a, b, &an, &bn);
        if (an != bn)
            return an ? 1 : -1; /* missing values last, either direction */
        if (an)
            continue;
        if (r)
            return k->asc ? r : -r;
    }
    return 0;
}

/* ---- SQL -------------------------------------------------------------- */

static void sql_literal(struct msx_buf *out, const struct msi_sql_target *tg, const char *s,
                        size_t n)
{
    bool pg_escape = tg->dialect == MSI_SQL_POSTGRES && memchr(s, '\\', n) != NULL;
    if (pg_escape)
        msx_buf_addc(out, 'E');
    msx_buf_addc(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            msx_buf_addc(out, '\'');
        else if (pg_escape && s[i] == '\\')
            msx_buf_addc(out, '\\');
        msx_buf_addc(out, s[i]);
    }
    msx_buf_addc(out, '\'');
}

ms_code msi_order_to_sql(const ms_order *o, const struct msi_sql_target *target,
                         struct msx_buf *out)
{
    struct msx_buf expr;
    msx_buf_init(&expr, MSX_CAP_LINE);
    for (size_t i = 0; o && i < o->n; i++) {
        const struct msi_order_key *k = &o->keys[i];
        bool nullable = true;
        msx_buf_reset(&expr);
        if (target->order_without_index && target->dialect == MSI_SQL_SQLITE)
            msx_buf_addc(&expr, '+');
        switch (k->kind) {
        case MSI_O_TIMESTAMP: msx_buf_adds(&expr, "t.timestamp_ms"); nullable = false; break;
        case MSI_O_EXECUTION_TIME: msx_buf_adds(&expr, "t.execution_time_ms"); break;
        case MSI_O_STATUS: msx_buf_adds(&expr, "t.status"); nullable = false; break;
        case MSI_O_REQUEST_ID: msx_buf_adds(&expr, "t.request_id"); nullable = false; break;
        case MSI_O_EXPERIMENT_ID: msx_buf_adds(&expr, "t.experiment_id"); nullable = false; break;
        case MSI_O_TAG:
        case MSI_O_METADATA:
            if (k->kind == MSI_O_TAG && target->has_trace_name_column &&
                strcmp(k->key, "mlflow.traceName") == 0) {
                msx_buf_adds(&expr, "t.trace_name");
            } else if (k->kind == MSI_O_METADATA && target->has_session_id_column &&
                       strcmp(k->key, "mlflow.trace.session") == 0) {
                msx_buf_adds(&expr, "t.session_id");
            } else {
                msx_buf_adds(&expr, k->kind == MSI_O_TAG
                                        ? "(SELECT o.value FROM trace_tags o"
                                        : "(SELECT o.value FROM trace_request_metadata o");
                msx_buf_adds(&expr, " WHERE o.request_id = t.request_id AND o.key = ");
                sql_literal(&expr, target, k->key, k->key_len);
                msx_buf_addc(&expr, ')');
            }
            break;
        }
        if (msx_buf_status(&expr) != MS_OK)
            break;
        if (i)
            msx_buf_adds(out, ", ");
        if (nullable)
            msx_buf_addf(out, "CASE WHEN %s IS NULL THEN 1 ELSE 0 END, ", expr.ptr);
        msx_buf_adds(out, expr.ptr);
        msx_buf_adds(out, k->asc ? " ASC" : " DESC");
    }
    ms_code rc = msx_buf_status(&expr);
    msx_buf_release(&expr);
    if (rc == MS_OK)
        rc = msx_buf_status(out);
    return rc;
}
