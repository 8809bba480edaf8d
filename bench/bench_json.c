/* SPDX-License-Identifier: MIT
 *
 * JSON parse throughput, ours against json-c, over the same bytes in one
 * run (STYLE.md section 8: the baseline runs beside the candidate).
 *
 *   bench_json [options] FILE...
 *     --mode whole      parse each document of each file (default); a file
 *                       of several documents (export pages one after
 *                       another, JSON Lines) is split first, untimed
 *     --mode spans      first pull every span object out of the traces and
 *                       write each as its own compact JSON text (our writer,
 *                       json.dumps separators, as MLflow stores a row of
 *                       spans.content in SQLite), then parse those small
 *                       documents one by one
 *     --min-seconds S   time each parser for at least S per repetition (0.5)
 *     --reps N          repetitions; the median is reported (5)
 *     --dump-docs FILE  write the documents, one per line, for bench_json.py
 *     --label NAME      workload name in the output
 *
 * What is timed: the parse of every document, over and over, with the
 * parser object reused (simdjson's parser, json-c's tokener), including
 * json-c's tree construction and freeing (json_object_put) since that is
 * what a caller pays to get a usable value; our result is the tape, walked
 * by reads. Each repetition runs whole passes over the document set until
 * S has passed; one untimed pass warms caches first. The checksum folds
 * something from every parse result into a volatile sink so that no parse
 * can be optimised away; both parsers must see the same documents.
 *
 * Output, one line per parser, for bench/run.sh:
 *   bench: workload=W parser=P docs=D bytes=B passes=N seconds=S mb_s=X gb_s=Y
 */
#define _POSIX_C_SOURCE 200809L

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json/json.h"
#include "json/json_write.h"
#include "util/buf.h"

struct doc {
    char *ptr; /* MSX_JSON_PADDING zero bytes follow ptr[len] */
    size_t len;
};

struct docs {
    struct doc *v;
    size_t n, cap;
    size_t bytes;
};

static volatile uint64_t sink;

static void die(const char *msg, const char *arg)
{
    fprintf(stderr, "bench_json: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
    exit(1);
}

static void add_doc(struct docs *d, const char *p, size_t len)
{
    if (d->n == d->cap) {
        d->cap = d->cap ? d->cap * 2 : 256;
        d->v = realloc(d->v, d->cap * sizeof *d->v);
        if (!d->v)
            die("out of memory", NULL);
    }
    char *copy = malloc(len + MSX_JSON_PADDING);
    if (!copy)
        die("out of memory", NULL);
    memcpy(copy, p, len);
    memset(copy + len, 0, MSX_JSON_PADDING);
    d->v[d->n].ptr = copy;
    d->v[d->n].len = len;
    d->n++;
    d->bytes += len;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_FILE);
    char tmp[1 << 16];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0)
        msx_buf_add(&b, tmp, got);
    fclose(f);
    if (msx_buf_status(&b) != MS_OK)
        die("cannot read", path);
    return msx_buf_take(&b, len);
}

/* Splits a file into its documents (untimed). */
static void split_file(struct docs *d, const char *path)
{
    size_t len;
    char *buf = read_file(path, &len);
    size_t pos = 0;
    for (;;) {
        while (pos < len && (buf[pos] == ' ' || buf[pos] == '\n' || buf[pos] == '\r' ||
                             buf[pos] == '\t'))
            pos++;
        if (pos == len)
            break;
        size_t end, off;
        const char *msg;
        if (!msx_json_skip_value(buf, len, pos, &end, &off, &msg)) {
            fprintf(stderr, "bench_json: %s: byte %zu: %s\n", path, off, msg);
            exit(1);
        }
        add_doc(d, buf + pos, end - pos);
        pos = end;
    }
    free(buf);
}

/* The spans array of one trace in any export shape. */
static msx_json spans_of(msx_json trace)
{
    msx_json s = msx_json_get(msx_json_get(trace, "data"), "spans");
    return msx_json_ok(s) ? s : msx_json_get(trace, "spans");
}

static void add_spans_of_trace(struct docs *out, msx_json trace, struct msx_buf *b)
{
    struct msx_json_iter it = msx_json_iter_init(spans_of(trace));
    ms_str k;
    msx_json span;
    while (msx_json_next(&it, &k, &span)) {
        struct msx_jw w;
        msx_buf_reset(b);
        msx_jw_init(&w, b, 0);
        msx_jw_value(&w, span);
        if (msx_buf_status(b) != MS_OK)
            die("cannot write a span", NULL);
        add_doc(out, b->ptr, b->len);
    }
}

/* Every span of every trace in the documents, as its own compact text. */
static void extract_spans(const struct docs *in, struct docs *out)
{
    msx_json_parser *p = msx_json_parser_new();
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    for (size_t i = 0; i < in->n; i++) {
        msx_json root;
        struct ms_error err;
        if (msx_json_parse(p, in->v[i].ptr, in->v[i].len, true, &root, &err) != MS_OK)
            die("cannot parse", err.msg);
        msx_json list = msx_json_get(root, "traces");
        if (msx_json_type(root) == MSX_JSON_ARRAY)
            list = root;
        if (msx_json_ok(list)) {
            struct msx_json_iter it = msx_json_iter_init(list);
            ms_str k;
            msx_json t;
            while (msx_json_next(&it, &k, &t))
                add_spans_of_trace(out, t, &b);
        } else
            add_spans_of_trace(out, msx_json_ok(msx_json_get(root, "trace"))
                                        ? msx_json_get(root, "trace")
                                        : root,
                               &b);
    }
    msx_buf_release(&b);
    msx_json_parser_free(p);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- one pass over all documents, per parser ---------------------------- */

static uint64_t pass_ours(msx_json_parser *p, const struct docs *d)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        msx_json root;
        struct ms_error err;
        if (msx_json_parse(p, d->v[i].ptr, d->v[i].len, true, &root, &err) != MS_OK)
            die("ours failed to parse", err.msg);
        sum += msx_json_count(root) + (uint64_t)msx_json_type(root);
    }
    return sum;
}

static uint64_t pass_jsonc(struct json_tokener *tok, const struct docs *d)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < d->n; i++) {
        json_tokener_reset(tok);
        /* + 1: the NUL ends a top-level number, as in json_tokener_parse */
        struct json_object *o = json_tokener_parse_ex(tok, d->v[i].ptr, (int)d->v[i].len + 1);
        if (!o && json_tokener_get_error(tok) != json_tokener_success)
            die("json-c failed to parse",
                json_tokener_error_desc(json_tokener_get_error(tok)));
        enum json_type ty = json_object_get_type(o);
        sum += (ty == json_type_object ? (uint64_t)json_object_object_length(o)
                : ty == json_type_array ? (uint64_t)json_object_array_length(o)
                                        : 0) +
               (uint64_t)ty;
        json_object_put(o);
    }
    return sum;
}

enum which { OURS, JSONC };

struct result {
    double seconds; /* median repetition */
    size_t passes;
    uint64_t checksum;
};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static struct result measure(enum which w, const struct docs *d, double min_s, int reps)
{
    msx_json_parser *p = msx_json_parser_new();
    struct json_tokener *tok = json_tokener_new_ex(256);
    if (!p || !tok)
        die("out of memory", NULL);
    struct result r = {0, 0, 0};
    /* warm-up pass: page in, let simdjson size its buffers */
    r.checksum = w == OURS ? pass_ours(p, d) : pass_jsonc(tok, d);
    double *per_byte = calloc((size_t)reps, sizeof *per_byte);
    size_t total_passes = 0;
    for (int k = 0; k < reps; k++) {
        size_t passes = 0;
        uint64_t sum = 0;
        double t0 = now(), t;
        do {
            sum += w == OURS ? pass_ours(p, d) : pass_jsonc(tok, d);
            passes++;
            t = now() - t0;
        } while (t < min_s);
        sink += sum;
        per_byte[k] = t / (double)passes; /* seconds per pass */
        total_passes += passes;
    }
    qsort(per_byte, (size_t)reps, sizeof *per_byte, cmp_double);
    r.seconds = per_byte[reps / 2];
    r.passes = total_passes;
    free(per_byte);
    json_tokener_free(tok);
    msx_json_parser_free(p);
    return r;
}

static void report(const char *label, const char *parser, const struct docs *d,
                   const struct result *r)
{
    double mbs = (double)d->bytes / r->seconds / 1e6;
    printf("bench: workload=%s parser=%s docs=%zu bytes=%zu passes=%zu seconds_per_pass=%.6f "
           "mb_s=%.1f gb_s=%.3f checksum=%llu\n",
           label, parser, d->n, d->bytes, r->passes, r->seconds, mbs, mbs / 1000,
           (unsigned long long)r->checksum);
}

int main(int argc, char **argv)
{
    const char *mode = "whole", *label = NULL, *dump = NULL;
    double min_s = 0.5;
    int reps = 5;
    struct docs in = {NULL, 0, 0, 0}, spans = {NULL, 0, 0, 0};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (i + 1 >= argc)
            die("missing value for", argv[i]);
        if (strcmp(argv[i], "--mode") == 0)
            mode = argv[++i];
        else if (strcmp(argv[i], "--min-seconds") == 0)
            min_s = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = (int)strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dump-docs") == 0)
            dump = argv[++i];
        else if (strcmp(argv[i], "--label") == 0)
            label = argv[++i];
        else
            die("unknown option", argv[i]);
    }
    if (i >= argc || reps < 1 || min_s <= 0 ||
        (strcmp(mode, "whole") != 0 && strcmp(mode, "spans") != 0)) {
        fprintf(stderr, "usage: bench_json [--mode whole|spans] [--min-seconds S] [--reps N]\n"
                        "                  [--dump-docs FILE] [--label NAME] FILE...\n");
        return 2;
    }
    for (; i < argc; i++)
        split_file(&in, argv[i]);
    const struct docs *d = &in;
    if (strcmp(mode, "spans") == 0) {
        extract_spans(&in, &spans);
        d = &spans;
    }
    if (d->n == 0)
        die("no documents to parse", NULL);
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (!f)
            die("cannot write", dump);
        for (size_t k = 0; k < d->n; k++) {
            fwrite(d->v[k].ptr, 1, d->v[k].len, f);
            fputc('\n', f);
        }
        if (fclose(f) != 0)
            die("cannot write", dump);
    }
    if (!label)
        label = mode;
    struct result jc = measure(JSONC, d, min_s, reps);
    struct result ours = measure(OURS, d, min_s, reps);
    report(label, "json-c", d, &jc);
    report(label, "mlsession", d, &ours);
    printf("bench: workload=%s ratio_vs_json_c=%.2f\n", label, jc.seconds / ours.seconds);
    for (size_t k = 0; k < in.n; k++)
        free(in.v[k].ptr);
    for (size_t k = 0; k < spans.n; k++)
        free(spans.v[k].ptr);
    free(in.v);
    free(spans.v);
    printf("bench: sink=%llu\n", (unsigned long long)sink); /* the work is observable */
    return 0;
}
