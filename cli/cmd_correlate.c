/* SPDX-License-Identifier: MIT
 *
 * mlsession correlate SESSION_ID... | --all --source DIR: scans the source
 * tree once, analyzes each session and prints its findings with the code
 * they point at (file:line, the source line, a confidence and its reason),
 * then the session-wide links: where the session id is set (or the gap),
 * span and tool definitions, frames of exceptions without a finding.
 * Exit status: 0 done, 2 bad usage or input (unknown session, --source not
 * a folder, store error), 1 the work failed. Source lines and trace text
 * are untrusted: escaped for the terminal (and Markdown).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "json/json.h"
#include "json/json_write.h"
#include "mlsession/analyze.h"
#include "mlsession/code.h"
#include "mlsession/session.h"
#include "util/buf.h"
#include "util/utf8.h"

#define MAX_IDS 256

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession correlate SESSION_ID... --source DIR [options]\n"
            "       mlsession correlate --all --source DIR [-x EXP] [options]\n"
            "\n"
            "Links each session's findings, spans, tools, exception frames and session id\n"
            "to the application's source code: file:line, the source line, a confidence\n"
            "(high, medium, low) and why. Python, TypeScript/JavaScript, Java and Go;\n"
            ".gitignore is honoured; binary, vendored, generated and files over 4 MiB\n"
            "are skipped (docs/correlate.md).\n"
            "\n"
            "Options:\n"
            "  --source DIR             the source tree to scan (required)\n"
            "  --all                    every session of the experiments\n"
            "  -x, --experiment-id ID   only this experiment (repeatable)\n"
            "  --experiment-name NAME   only this experiment, by name\n"
            "  --min-confidence C       only links at least this sure: low (default),\n"
            "                           medium, high\n"
            "  --no-gitignore           scan what .gitignore excludes too\n"
            "  --format FMT             text (default), json, md\n"
            "  --json                   same as --format json\n"
            "\n"
            "Exit status: 0 done, 1 the work failed,\n"
            "2 bad usage or input (unknown option or session, --source not a folder,\n"
            "store error).\n");
}

enum fmt { F_TEXT, F_JSON, F_MD };

struct result {
    char *session_id;
    int64_t turns;
    ms_findings *f;
    ms_code_links *l;
};

#define MAX_UNSESSIONED 1000

struct opts {
    enum fmt fmt;
    ms_confidence min;
    const char *source;
    size_t unsessioned;       /* traces with no session id (--all) */
    ms_code_links *gap_links; /* their links, or NULL */
};


/* ---- escaping ------------------------------------------------------------ */

static void esc(struct msx_buf *b, ms_str s, bool md)
{
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t i = 0;
    while (i < s.len) {
        unsigned cp = 0;
        size_t n = msx_utf8_decode(p, s.len, i, &cp);
        if (n == 0) {
            msx_buf_adds(b, "\xef\xbf\xbd");
            i++;
            continue;
        }
        if (n == 1) {
            unsigned char c = p[i];
            if (c == '\n')
                msx_buf_adds(b, "\\n");
            else if (c == '\t')
                msx_buf_adds(b, "\\t");
            else if (c < 0x20 || c == 0x7f)
                msx_buf_addf(b, "\\x%02x", c);
            else if (md && strchr("|\\`*_<>[]", c))
                msx_buf_addc(b, '\\'), msx_buf_addc(b, (char)c);
            else
                msx_buf_addc(b, (char)c);
        } else if (cp >= 0x80 && cp <= 0x9f) {
            msx_buf_addf(b, "\\u%04x", cp);
        } else {
            msx_buf_add(b, p + i, n);
        }
        i += n;
    }
}

static void escz(struct msx_buf *b, const char *z, bool md)
{
    esc(b, (ms_str){z, strlen(z)}, md);
}

/* ---- shared ---------------------------------------------------------------- */

static bool shown(const struct opts *o, const ms_code_ref *k)
{
    return k->confidence >= o->min;
}

static size_t n_links(const struct opts *o, const ms_code_links *l, int64_t finding, bool any)
{
    size_t n = 0;
    for (size_t i = 0; i < ms_code_links_count(l); i++) {
        const ms_code_ref *k = ms_code_links_at(l, i);
        if (shown(o, k) && (any || k->finding == finding))
            n++;
    }
    return n;
}

static void where(struct msx_buf *b, int64_t turn)
{
    if (turn > 0)
        msx_buf_addf(b, "turn %lld", (long long)turn);
    else
        msx_buf_adds(b, "session");
}

static const char *label(const ms_finding *f)
{
    static const char *const labels[] = {"INFO", "WARN", "ERROR"};
    return strcmp(f->rule, "cause.root") == 0 ? "ROOT" : labels[f->severity];
}

/* One link as a text or Markdown line. */
static void link_line(struct msx_buf *b, const ms_code_ref *k, const char *indent, bool md)
{
    msx_buf_adds(b, indent);
    if (md)
        msx_buf_adds(b, "- ");
    if (k->file.len) {
        if (md)
            msx_buf_addc(b, '`');
        esc(b, k->file, false);
        msx_buf_addf(b, ":%lld", (long long)k->line);
        if (md)
            msx_buf_addc(b, '`');
    } else {
        msx_buf_adds(b, md ? "*gap*" : "(gap)");
    }
    msx_buf_addf(b, "  %s", ms_code_kind_name(k->kind));
    if (k->subject.len) {
        msx_buf_addc(b, ' ');
        esc(b, k->subject, md);
    }
    msx_buf_addf(b, "  [%s]\n", ms_confidence_name(k->confidence));
    if (k->text.len) {
        msx_buf_adds(b, indent);
        msx_buf_adds(b, md ? "  `" : "    | ");
        if (md) {
            /* a code span cannot hold a backtick: shown as ' */
            char tmp[256];
            size_t tn = k->text.len < sizeof tmp ? k->text.len : sizeof tmp;
            for (size_t i = 0; i < tn; i++)
                tmp[i] = k->text.ptr[i] == '`' ? '\'' : k->text.ptr[i];
            esc(b, (ms_str){tmp, tn}, false);
        } else {
            esc(b, k->text, false);
        }
        msx_buf_adds(b, md ? "`\n" : "\n");
    }
    msx_buf_adds(b, indent);
    msx_buf_adds(b, md ? "  " : "    ");
    esc(b, k->reason, md);
    msx_buf_addc(b, '\n');
}

/* ---- text and markdown ----------------------------------------------------- */

static void source_line(struct msx_buf *b, const ms_code_index *idx, const struct opts *o,
                        bool md)
{
    const ms_code_stats *st = ms_code_index_stats(idx);
    uint64_t skipped = 0;
    for (int k = 1; k < 9; k++)
        skipped += st->skipped[k];
    if (md)
        msx_buf_adds(b, "Source `");
    else
        msx_buf_adds(b, "source ");
    escz(b, o->source, false);
    msx_buf_addf(b, "%s: %llu file%s scanned (%llu bytes), %zu code site%s", md ? "`" : "",
                 (unsigned long long)st->files_scanned, st->files_scanned == 1 ? "" : "s",
                 (unsigned long long)st->bytes_scanned, ms_code_site_count(idx),
                 ms_code_site_count(idx) == 1 ? "" : "s");
    if (skipped) {
        msx_buf_adds(b, "; skipped:");
        const char *sep = " ";
        for (int k = 1; k < 9; k++)
            if (st->skipped[k]) {
                msx_buf_addf(b, "%s%llu %s", sep, (unsigned long long)st->skipped[k],
                             ms_code_skip_name((ms_code_skip)k));
                sep = ", ";
            }
    }
    msx_buf_adds(b, md ? ".\n" : "\n");
}

static void print_text(struct msx_buf *b, const ms_code_index *idx, const struct result *rs,
                       size_t n, const struct opts *o, bool md)
{
    const char *ind = md ? "" : "         ";
    if (md)
        msx_buf_adds(b, "# Code links\n\n");
    source_line(b, idx, o, md);
    size_t total = 0;
    for (size_t r = 0; r < n; r++) {
        const struct result *x = &rs[r];
        size_t nl = n_links(o, x->l, 0, true), linked = 0;
        size_t frames = ms_code_links_frames(x->l, &linked);
        total += nl;
        msx_buf_adds(b, md ? "\n## " : "\n");
        escz(b, x->session_id, md);
        msx_buf_addf(b, "%s%lld turn%s, %zu finding%s, %zu code link%s", md ? "\n\n" : ": ",
                     (long long)x->turns, x->turns == 1 ? "" : "s", ms_findings_count(x->f),
                     ms_findings_count(x->f) == 1 ? "" : "s", nl, nl == 1 ? "" : "s");
        if (frames)
            msx_buf_addf(b, "; %zu of %zu exception frame%s in the tree", linked, frames,
                         frames == 1 ? "" : "s");
        msx_buf_adds(b, md ? ".\n" : "\n");
        size_t unlinked = 0;
        for (size_t i = 0; i < ms_findings_count(x->f); i++) {
            const ms_finding *f = ms_findings_at(x->f, i);
            if (n_links(o, x->l, (int64_t)i, false) == 0) {
                unlinked++;
                continue;
            }
            if (md) {
                msx_buf_addf(b, "\n### %s ", label(f));
                where(b, f->turn);
                msx_buf_addf(b, " `%s`\n\n", f->rule);
                esc(b, f->message, true);
                msx_buf_adds(b, "\n\n");
            } else {
                msx_buf_addf(b, "  %-5s  ", label(f));
                where(b, f->turn);
                msx_buf_addf(b, "  %s  ", f->rule);
                esc(b, f->message, false);
                msx_buf_addc(b, '\n');
            }
            for (size_t k = 0; k < ms_code_links_count(x->l); k++) {
                const ms_code_ref *ln = ms_code_links_at(x->l, k);
                if (ln->finding == (int64_t)i && shown(o, ln))
                    link_line(b, ln, ind, md);
            }
        }
        if (unlinked)
            msx_buf_addf(b, "%s%zu finding%s without a code link\n", md ? "\n" : "  ", unlinked,
                         unlinked == 1 ? "" : "s");
        if (n_links(o, x->l, -1, false)) {
            msx_buf_adds(b, md ? "\n### Session\n\n" : "  session-wide:\n");
            for (size_t k = 0; k < ms_code_links_count(x->l); k++) {
                const ms_code_ref *ln = ms_code_links_at(x->l, k);
                if (ln->finding == -1 && shown(o, ln))
                    link_line(b, ln, ind, md);
            }
        }
    }
    if (o->unsessioned) {
        size_t nl = n_links(o, o->gap_links, -1, false);
        total += nl;
        msx_buf_addf(b, md ? "\n## Traces without a session id\n\n%zu trace%s, %zu code link%s.\n\n"
                           : "\ntraces without a session id: %zu trace%s, %zu code link%s\n",
                     o->unsessioned, o->unsessioned == 1 ? "" : "s", nl, nl == 1 ? "" : "s");
        for (size_t k = 0; k < ms_code_links_count(o->gap_links); k++) {
            const ms_code_ref *ln = ms_code_links_at(o->gap_links, k);
            if (shown(o, ln))
                link_line(b, ln, ind, md);
        }
    }
    if (n == 0)
        msx_buf_adds(b, "\nno sessions\n");
    else
        msx_buf_addf(b, "\n%s%zu session%s, %zu code link%s%s\n", md ? "**" : "", n,
                     n == 1 ? "" : "s", total, total == 1 ? "" : "s", md ? ".**" : "");
}

/* ---- json ------------------------------------------------------------------ */

static bool put_json(struct msx_jw *w, msx_json_parser *p, const char *js, size_t len)
{
    struct ms_error err = {0};
    msx_json v;
    if (msx_json_parse(p, js, len, false, &v, &err) != MS_OK)
        return false;
    msx_jw_value(w, v);
    return true;
}

static bool put_links(struct msx_jw *w, msx_json_parser *p, const struct opts *o,
                      const ms_code_links *l, int64_t finding)
{
    msx_jw_arr_begin(w);
    for (size_t k = 0; k < ms_code_links_count(l); k++) {
        const ms_code_ref *ln = ms_code_links_at(l, k);
        if (ln->finding != finding || !shown(o, ln))
            continue;
        char *js = NULL;
        size_t len = 0;
        bool ok = ms_code_link_to_json(ln, &js, &len) == MS_OK && put_json(w, p, js, len);
        free(js);
        if (!ok)
            return false;
    }
    msx_jw_arr_end(w);
    return true;
}

static int print_json(struct msx_buf *b, const ms_code_index *idx, const struct result *rs,
                      size_t n, const struct opts *o)
{
    struct msx_jw w;
    msx_jw_init(&w, b, MSX_JW_PRETTY);
    msx_json_parser *p = msx_json_parser_new();
    if (!p)
        return EXIT_WORK;
    const ms_code_stats *st = ms_code_index_stats(idx);
    size_t by_conf[3] = {0, 0, 0}, total = 0;
    bool ok = true;
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "schema_version");
    msx_jw_int(&w, 1);
    msx_jw_keyz(&w, "source");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "root");
    msx_jw_strz(&w, o->source);
    msx_jw_keyz(&w, "files_scanned");
    msx_jw_uint(&w, st->files_scanned);
    msx_jw_keyz(&w, "bytes_scanned");
    msx_jw_uint(&w, st->bytes_scanned);
    msx_jw_keyz(&w, "sites");
    msx_jw_uint(&w, ms_code_site_count(idx));
    msx_jw_keyz(&w, "skipped");
    msx_jw_obj_begin(&w);
    for (int k = 1; k < 9; k++) {
        msx_jw_keyz(&w, ms_code_skip_name((ms_code_skip)k));
        msx_jw_uint(&w, st->skipped[k]);
    }
    msx_jw_obj_end(&w);
    msx_jw_keyz(&w, "skipped_files");
    msx_jw_arr_begin(&w);
    for (size_t i = 0; i < ms_code_skipped_count(idx); i++) {
        ms_code_skip why;
        const char *path = ms_code_skipped_path(idx, i, &why);
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "path");
        msx_jw_strz(&w, path);
        msx_jw_keyz(&w, "reason");
        msx_jw_strz(&w, ms_code_skip_name(why));
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);
    msx_jw_obj_end(&w);
    msx_jw_keyz(&w, "sessions");
    msx_jw_arr_begin(&w);
    for (size_t r = 0; r < n && ok; r++) {
        const struct result *x = &rs[r];
        size_t linked = 0, frames = ms_code_links_frames(x->l, &linked);
        for (size_t k = 0; k < ms_code_links_count(x->l); k++) {
            const ms_code_ref *ln = ms_code_links_at(x->l, k);
            if (shown(o, ln)) {
                by_conf[ln->confidence]++;
                total++;
            }
        }
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "session_id");
        msx_jw_strz(&w, x->session_id);
        msx_jw_keyz(&w, "turns");
        msx_jw_int(&w, x->turns);
        msx_jw_keyz(&w, "frames");
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "seen");
        msx_jw_uint(&w, frames);
        msx_jw_keyz(&w, "linked");
        msx_jw_uint(&w, linked);
        msx_jw_obj_end(&w);
        msx_jw_keyz(&w, "findings");
        msx_jw_arr_begin(&w);
        for (size_t i = 0; i < ms_findings_count(x->f) && ok; i++) {
            char *js = NULL;
            size_t len = 0;
            msx_jw_obj_begin(&w);
            msx_jw_keyz(&w, "finding");
            ok = ms_finding_to_json(ms_findings_at(x->f, i), &js, &len) == MS_OK &&
                 put_json(&w, p, js, len);
            free(js);
            msx_jw_keyz(&w, "code");
            ok = ok && put_links(&w, p, o, x->l, (int64_t)i);
            msx_jw_obj_end(&w);
        }
        msx_jw_arr_end(&w);
        msx_jw_keyz(&w, "session_links");
        ok = ok && put_links(&w, p, o, x->l, -1);
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);
    msx_jw_keyz(&w, "unsessioned");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "traces");
    msx_jw_uint(&w, o->unsessioned);
    msx_jw_keyz(&w, "links");
    ok = ok && put_links(&w, p, o, o->gap_links, -1);
    msx_jw_obj_end(&w);
    for (size_t k = 0; k < ms_code_links_count(o->gap_links); k++) {
        const ms_code_ref *ln = ms_code_links_at(o->gap_links, k);
        if (shown(o, ln)) {
            by_conf[ln->confidence]++;
            total++;
        }
    }
    msx_jw_keyz(&w, "summary");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "sessions");
    msx_jw_uint(&w, n);
    msx_jw_keyz(&w, "links");
    msx_jw_uint(&w, total);
    msx_jw_keyz(&w, "by_confidence");
    msx_jw_obj_begin(&w);
    for (int c = 2; c >= 0; c--) {
        msx_jw_keyz(&w, ms_confidence_name((ms_confidence)c));
        msx_jw_uint(&w, by_conf[c]);
    }
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    msx_buf_addc(b, '\n');
    msx_json_parser_free(p);
    return ok ? EXIT_OK : EXIT_WORK;
}

/* ---- the command ------------------------------------------------------------ */

static char *dup_str(ms_str s)
{
    char *p = malloc(s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.ptr, s.len);
        p[s.len] = '\0';
    }
    return p;
}

static void free_results(struct result *rs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rs[i].session_id);
        ms_findings_free(rs[i].f);
        ms_code_links_free(rs[i].l);
    }
    free(rs);
}

static int correlate_one(const struct cli_globals *g, ms_store *store,
                         const struct cli_experiments *x, const char *sid,
                         const ms_code_index *idx, struct result *r)
{
    struct ms_error err = {0};
    ms_session *s = NULL;
    ms_code c = ms_session_load(store, x->n ? x->ptrs : NULL, x->n, sid, &s, &err);
    if (c == MS_E_NOTFOUND) {
        struct msx_buf b;
        msx_buf_init(&b, MSX_CAP_LINE);
        escz(&b, sid, false);
        cli_error("correlate: no session '%s'", b.ptr ? b.ptr : "");
        msx_buf_release(&b);
        return EXIT_USAGE;
    }
    if (c != MS_OK) {
        cli_store_error(g, &err);
        return EXIT_USAGE;
    }
    r->session_id = dup_str(s->session_id);
    r->turns = (int64_t)s->n_turns;
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    c = ms_analyze_session(s, &o, &r->f, &err);
    if (c == MS_OK)
        c = ms_code_link(idx, s, r->f, &r->l, &err);
    ms_session_free(s);
    if (c != MS_OK || !r->session_id) {
        cli_error("correlate: %s", c != MS_OK ? err.msg : "out of memory");
        return EXIT_WORK;
    }
    return EXIT_OK;
}

/* The traces of the unsessioned row: their root spans to the code, and the
 * gap. */
static int link_unsessioned(const struct cli_globals *g, ms_store *store,
                            const ms_session_summary *row, const ms_code_index *idx,
                            struct opts *o)
{
    struct ms_error err = {0};
    size_t n = (size_t)row->turns < MAX_UNSESSIONED ? (size_t)row->turns : MAX_UNSESSIONED;
    ms_trace_set **sets = calloc(n ? n : 1, sizeof *sets);
    const ms_trace **ts = calloc(n ? n : 1, sizeof *ts);
    int rc = EXIT_OK;
    size_t got = 0;
    if (!sets || !ts) {
        cli_error("correlate: out of memory");
        rc = EXIT_WORK;
    }
    for (size_t i = 0; i < n && rc == EXIT_OK && row->trace_ids; i++) {
        char *id = dup_str(row->trace_ids[i]);
        if (!id) {
            cli_error("correlate: out of memory");
            rc = EXIT_WORK;
            break;
        }
        if (ms_store_get_trace(store, id, &sets[got], &err) != MS_OK) {
            cli_store_error(g, &err);
            rc = EXIT_USAGE;
        } else if (ms_trace_set_count(sets[got]) > 0) {
            ts[got] = ms_trace_set_at(sets[got], 0);
            got++;
        } else {
            ms_trace_set_free(sets[got]);
            sets[got] = NULL;
        }
        free(id);
    }
    o->unsessioned = (size_t)row->turns;
    if (rc == EXIT_OK && ms_code_link_unsessioned(idx, ts, got, &o->gap_links, &err) != MS_OK) {
        cli_error("correlate: %s", err.msg);
        rc = EXIT_WORK;
    }
    for (size_t i = 0; sets && i < got; i++)
        ms_trace_set_free(sets[i]);
    free(sets);
    free(ts);
    return rc;
}

/* --all: every session of the list, fetched many per store query; the
 * bucket of traces without a session id gets the gap links. */
struct visit {
    const ms_code_index *idx;
    struct opts *o;
    struct result *rs;
    size_t n, want;
    struct ms_error err;
    bool failed;
    int rc;
};

static bool visit_one(void *ctx, const ms_session *s)
{
    struct visit *v = ctx;
    if (s->session_id.len == 0) {
        const ms_trace **ts = calloc(s->n_turns ? s->n_turns : 1, sizeof *ts);
        if (!ts) {
            snprintf(v->err.msg, sizeof v->err.msg, "out of memory");
            v->failed = true;
            return false;
        }
        for (size_t i = 0; i < s->n_turns; i++)
            ts[i] = s->turns[i].trace;
        v->o->unsessioned = s->n_turns;
        ms_code_links_free(v->o->gap_links);
        v->o->gap_links = NULL;
        bool ok = ms_code_link_unsessioned(v->idx, ts, s->n_turns, &v->o->gap_links, &v->err) ==
                  MS_OK;
        free(ts);
        v->failed = !ok;
        return ok;
    }
    if (v->n >= v->want)
        return false;
    struct result *r = &v->rs[v->n];
    r->session_id = dup_str(s->session_id);
    r->turns = (int64_t)s->n_turns;
    struct ms_analyze_options ao;
    ms_analyze_options_init(&ao);
    if (!r->session_id || ms_analyze_session(s, &ao, &r->f, &v->err) != MS_OK ||
        ms_code_link(v->idx, s, r->f, &r->l, &v->err) != MS_OK) {
        if (!r->session_id)
            snprintf(v->err.msg, sizeof v->err.msg, "out of memory");
        v->n++; /* freed with the rest */
        v->failed = true;
        return false;
    }
    v->n++;
    return true;
}

int cmd_correlate(struct cli_globals *g, int argc, char **argv)
{
    struct cli_experiments x = {0};
    struct opts o = {F_TEXT, MS_CONF_LOW, NULL, 0, NULL};
    struct ms_code_options co;
    ms_code_options_init(&co);
    const char *ids[MAX_IDS];
    size_t n_ids = 0;
    bool all = false;
    int rc = EXIT_OK;
    const char *v;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return EXIT_OK;
        }
        if (a[0] != '-') {
            if (n_ids == MAX_IDS) {
                cli_error("correlate: too many session ids (at most %d; use --all)", MAX_IDS);
                return EXIT_USAGE;
            }
            ids[n_ids++] = a;
            continue;
        }
        if (cli_experiment_option(&x, argc, argv, &i, &rc)) {
            if (rc)
                return rc;
            continue;
        }
        if (strcmp(a, "--all") == 0) {
            all = true;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            o.fmt = F_JSON;
            continue;
        }
        if (strcmp(a, "--no-gitignore") == 0) {
            co.no_gitignore = true;
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--source", &v) ||
            cli_opt_value(argc, argv, &i, "--format", &v) ||
            cli_opt_value(argc, argv, &i, "--min-confidence", &v)) {
            if (!v) {
                cli_error("correlate: option %s needs a value", a);
                return EXIT_USAGE;
            }
            if (strncmp(a, "--source", 8) == 0) {
                o.source = v;
            } else if (strncmp(a, "--format", 8) == 0) {
                if (strcmp(v, "text") == 0)
                    o.fmt = F_TEXT;
                else if (strcmp(v, "json") == 0)
                    o.fmt = F_JSON;
                else if (strcmp(v, "md") == 0)
                    o.fmt = F_MD;
                else {
                    cli_error("correlate: unknown --format '%s' (text, json, md)", v);
                    return EXIT_USAGE;
                }
            } else {
                if (strcmp(v, "low") == 0)
                    o.min = MS_CONF_LOW;
                else if (strcmp(v, "medium") == 0)
                    o.min = MS_CONF_MEDIUM;
                else if (strcmp(v, "high") == 0)
                    o.min = MS_CONF_HIGH;
                else {
                    cli_error("correlate: unknown --min-confidence '%s' (low, medium, high)", v);
                    return EXIT_USAGE;
                }
            }
            continue;
        }
        cli_error("correlate: unknown option '%s' (see 'mlsession correlate --help')", a);
        return EXIT_USAGE;
    }
    if (all && n_ids) {
        cli_error("correlate: give session ids or --all, not both");
        return EXIT_USAGE;
    }
    if (!all && n_ids == 0) {
        cli_error("correlate: which session? give SESSION_ID... or --all (see 'mlsession "
                  "correlate --help')");
        return EXIT_USAGE;
    }
    if (!o.source) {
        cli_error("correlate: --source DIR is required: the application's source tree");
        return EXIT_USAGE;
    }

    struct ms_error err = {0};
    ms_code_index *idx = NULL;
    ms_code c = ms_code_scan(o.source, &co, &idx, &err);
    if (c != MS_OK) {
        cli_error("correlate: --source %s", err.msg);
        return c == MS_E_IO ? EXIT_USAGE : EXIT_WORK;
    }
    ms_store *store = cli_open_store(g);
    if (!store) {
        ms_code_index_free(idx);
        return EXIT_USAGE;
    }
    struct result *rs = NULL;
    size_t n = 0;
    ms_session_list *l = NULL;
    if (!cli_resolve_experiments(store, &x)) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (all) {
        struct ms_session_query q = {0};
        q.version = 1;
        q.experiment_ids = x.n ? x.ptrs : NULL;
        q.n_experiment_ids = x.n;
        q.sort = MS_SORT_FIRST;
        q.ascending = true;
        q.include_unsessioned = true;
        q.with_trace_ids = true;
        if (ms_sessions_list(store, &q, &l, &err) != MS_OK) {
            cli_store_error(g, &err);
            rc = EXIT_USAGE;
            goto done;
        }
    }
    size_t want = all ? ms_session_list_count(l) : n_ids;
    rs = calloc(want ? want : 1, sizeof *rs);
    if (!rs) {
        cli_error("correlate: out of memory");
        rc = EXIT_WORK;
        goto done;
    }
    for (size_t k = 0; all && k < want; k++)
        if (ms_session_list_at(l, k)->session_id.len == 0) {
            rc = link_unsessioned(g, store, ms_session_list_at(l, k), idx, &o);
            if (rc)
                goto done;
        }
    if (all) {
        struct visit vis = {idx, &o, rs, 0, want, {0}, false, EXIT_OK};
        ms_code c2 = ms_sessions_foreach(store, l, visit_one, &vis, &vis.err);
        n = vis.n;
        if (c2 != MS_OK) {
            cli_store_error(g, &vis.err);
            rc = EXIT_USAGE;
            goto done;
        }
        if (vis.failed) {
            cli_error("correlate: %s", vis.err.msg);
            rc = EXIT_WORK;
            goto done;
        }
    }
    for (size_t k = 0; !all && k < want; k++) {
        rc = correlate_one(g, store, &x, ids[k], idx, &rs[n]);
        n++;
        if (rc)
            goto done;
    }

    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    if (o.fmt == F_JSON)
        rc = print_json(&b, idx, rs, n, &o);
    else
        print_text(&b, idx, rs, n, &o, o.fmt == F_MD);
    if (rc == EXIT_OK && msx_buf_status(&b) != MS_OK) {
        cli_error("correlate: out of memory");
        rc = EXIT_WORK;
    }
    if (rc == EXIT_OK)
        fwrite(b.ptr ? b.ptr : "", 1, b.len, stdout);
    msx_buf_release(&b);
    if (fflush(stdout) != 0) {
        cli_error("correlate: cannot write the output");
        rc = EXIT_WORK;
    }
done:
    free_results(rs, n);
    ms_code_links_free(o.gap_links);
    ms_session_list_free(l);
    ms_store_close(store);
    ms_code_index_free(idx);
    return rc;
}
