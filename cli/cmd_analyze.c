/* SPDX-License-Identifier: MIT
 *
 * mlsession analyze SESSION_ID... | --all: runs the analyzers on each
 * session and prints what went wrong and where it started (text, json, md).
 * Exit status: 0 when no finding reaches --fail-on (default error), 1 when
 * one does, 2 for bad usage or input (unknown session, bad --rules, store
 * errors). Trace text is untrusted: control characters are shown as visible
 * escapes and invalid UTF-8 as U+FFFD, so a trace cannot drive the terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "json/json.h"
#include "json/json_write.h"
#include "mlsession/analyze.h"
#include "mlsession/code.h"
#include "mlsession/session.h"
#include "mlsession/sfilter.h"
#include "util/buf.h"
#include "util/utf8.h"

#define MAX_RULES 64

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession analyze SESSION_ID... [options]\n"
            "       mlsession analyze --all [-x EXP] [--filter EXPR] [options]\n"
            "\n"
            "Finds what went wrong in each session, at which turn, with the evidence,\n"
            "and the turn where it started (root causes first, with their chain).\n"
            "\n"
            "Options:\n"
            "  --all                    every session of the experiments\n"
            "  -x, --experiment-id ID   only this experiment (repeatable)\n"
            "  --experiment-name NAME   only this experiment, by name\n"
            "  --filter EXPR            with --all: only sessions matching the session\n"
            "                           filter (see 'mlsession sessions --help')\n"
            "  --rules LIST             only these rules or families, comma-separated:\n"
            "                           error.trace,loop,context (see docs/rules.md)\n"
            "  --idle-gap DUR           timing.idle_gap threshold (default 30m): 90s, 45m, 2h\n"
            "  --windows MODEL=N,...    context windows in tokens, beside the built-in table\n"
            "  --format FMT             text (default), json, md\n"
            "  --json                   same as --format json\n"
            "  --source DIR             link each finding to the application's code in DIR:\n"
            "                           file:line, the source line, a confidence (see\n"
            "                           'mlsession correlate --help', docs/correlate.md)\n"
            "  --fail-on SEV            exit 1 when a finding is at least SEV: warn, error\n"
            "                           (default error)\n"
            "\n"
            "Rules:\n");
    for (size_t i = 0; i < ms_rule_count(); i++) {
        const ms_rule_info *r = ms_rule_at(i);
        fprintf(out, "  %-32s %-5s %s\n", r->id, ms_severity_name(r->severity), r->summary);
    }
    fprintf(out,
            "\n"
            "Exit status: 0 nothing reached --fail-on, 1 something did,\n"
            "2 bad usage or input (unknown option or session, bad --rules, store error).\n");
}

enum fmt { F_TEXT, F_JSON, F_MD };

struct result {
    char *session_id;
    int64_t turns;
    ms_findings *f;
    ms_code_links *links; /* --source: the findings' code links, else NULL */
    size_t turns_order; /* position in the session list, for a stable sort */
};

/* ---- escaping untrusted text ------------------------------------------- */

/* Untrusted text, on one line, breaks shown (cli/text.c). */
static void esc(struct msx_buf *b, ms_str s, bool md)
{
    cli_put_text(b, s, 0, md ? CLI_ESC_MD_SHOWN : CLI_ESC_SHOWN, NULL);
}

static void escz(struct msx_buf *b, const char *z, bool md)
{
    esc(b, (ms_str){z, strlen(z)}, md);
}

/* ---- options ------------------------------------------------------------ */

static const char *const families[] = {"error",    "errors",    "assessment", "assessments",
                                       "context",  "timing",    "integrity",  "friction",
                                       "loop",     "loops",     "cause"};

static bool rule_known(const char *r)
{
    for (size_t i = 0; i < ms_rule_count(); i++) {
        const ms_rule_info *ri = ms_rule_at(i);
        if (strcmp(ri->id, r) == 0 || strcmp(ri->analyzer, r) == 0)
            return true;
    }
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strcmp(families[i], r) == 0)
            return true;
    /* an id of a family whose analyzer registers no rules yet */
    const char *dot = strchr(r, '.');
    if (!dot || !dot[1])
        return false;
    size_t fam = (size_t)(dot - r);
    for (size_t i = 0; i < ms_rule_count(); i++)
        if (strncmp(ms_rule_at(i)->id, r, fam + 1) == 0)
            return false; /* the family has rules, and this is not one */
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        if (strlen(families[i]) == fam && strncmp(families[i], r, fam) == 0)
            return true;
    return false;
}

/* "30m", "90s", "1500ms", "2h", "1h30m" -> ms. */
static bool parse_duration(const char *v, int64_t *out)
{
    int64_t total = 0;
    const char *p = v;
    if (!*p)
        return false;
    while (*p) {
        if (*p < '0' || *p > '9')
            return false;
        int64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            if (n > (INT64_MAX - 9) / 10)
                return false;
            n = n * 10 + (*p++ - '0');
        }
        int64_t unit;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 1;
            p += 2;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p == 'd') {
            unit = 86400000;
            p++;
        } else {
            return false;
        }
        if (n > (INT64_MAX - total) / unit)
            return false;
        total += n * unit;
    }
    *out = total;
    return total > 0;
}

/* "model=N,model2=N": names non-empty, N a positive integer. */
static bool windows_valid(const char *v)
{
    const char *p = v;
    if (!*p)
        return false;
    while (*p) {
        const char *eq = strchr(p, '=');
        const char *comma = strchr(p, ',');
        if (!eq || eq == p || (comma && comma < eq))
            return false;
        const char *q = eq + 1;
        if (*q < '1' || *q > '9')
            return false;
        while (*q >= '0' && *q <= '9')
            q++;
        if (*q == ',' && q[1])
            p = q + 1;
        else if (*q == '\0')
            p = q;
        else
            return false;
    }
    return true;
}

/* ---- text --------------------------------------------------------------- */

static void counts(const ms_findings *f, size_t c[3])
{
    c[0] = c[1] = c[2] = 0;
    for (size_t i = 0; i < ms_findings_count(f); i++)
        c[ms_findings_at(f, i)->severity]++;
}

static void count_line(struct msx_buf *b, const size_t c[3])
{
    msx_buf_addf(b, "%zu error, %zu warn, %zu info", c[MS_SEV_ERROR], c[MS_SEV_WARN],
                 c[MS_SEV_INFO]);
}

static bool is_root(const ms_finding *f)
{
    return strcmp(f->rule, "cause.root") == 0;
}

static void where(struct msx_buf *b, int64_t turn)
{
    if (turn > 0)
        msx_buf_addf(b, "turn %lld", (long long)turn);
    else
        msx_buf_adds(b, "session");
}

static void text_finding(struct msx_buf *b, const ms_finding *f)
{
    static const char *const labels[] = {"INFO", "WARN", "ERROR"};
    const char *pad = "         ";
    msx_buf_addf(b, "  %-5s  ", is_root(f) ? "ROOT" : labels[f->severity]);
    where(b, f->turn);
    msx_buf_addf(b, "  %s  ", f->rule);
    esc(b, f->message, false);
    msx_buf_addc(b, '\n');
    if (f->trace_id.len || f->span_id.len || f->path.len) {
        msx_buf_adds(b, pad);
        const char *sep = "";
        if (f->trace_id.len) {
            msx_buf_adds(b, "trace ");
            esc(b, f->trace_id, false);
            sep = "  ";
        }
        if (f->span_id.len) {
            msx_buf_addf(b, "%sspan ", sep);
            esc(b, f->span_id, false);
            sep = "  ";
        }
        if (f->path.len) {
            msx_buf_adds(b, sep);
            esc(b, f->path, false);
        }
        msx_buf_addc(b, '\n');
    }
    if (f->excerpt.len) {
        msx_buf_addf(b, "%s> ", pad);
        esc(b, f->excerpt, false);
        msx_buf_addc(b, '\n');
    }
    for (size_t i = 0; i < f->n_chain; i++) {
        const ms_link *l = &f->chain[i];
        msx_buf_addf(b, "%s%s ", pad, i == 0 ? "cause:" : "   ->");
        where(b, l->turn);
        if (l->why.len) {
            msx_buf_adds(b, ": ");
            esc(b, l->why, false);
        }
        if (l->span_id.len) {
            msx_buf_adds(b, " (span ");
            esc(b, l->span_id, false);
            msx_buf_addc(b, ')');
        }
        msx_buf_addc(b, '\n');
        if (l->excerpt.len) {
            msx_buf_addf(b, "%s       > ", pad);
            esc(b, l->excerpt, false);
            msx_buf_addc(b, '\n');
        }
    }
}

/* --source: the finding's code links, under its evidence (code.h renders
 * and escapes them). */
static void code_lines(struct msx_buf *b, const ms_code_links *l, size_t i)
{
    char *txt = NULL;
    size_t len = 0;
    if (!l || ms_code_links_format(l, (int64_t)i, "         ", 0, &txt, &len) != MS_OK) {
        free(txt);
        return;
    }
    msx_buf_add(b, txt, len);
    free(txt);
}

/* The same in a Markdown table cell: file:line, kind, confidence. */
static void code_cell(struct msx_buf *b, const ms_code_links *l, size_t i)
{
    for (size_t k = 0; k < ms_code_links_count(l); k++) {
        const ms_code_ref *c = ms_code_links_at(l, k);
        if (c->finding != (int64_t)i || !c->file.len)
            continue;
        msx_buf_adds(b, "<br>code: ");
        esc(b, c->file, true);
        msx_buf_addf(b, ":%lld %s (%s)", (long long)c->line, ms_code_kind_name(c->kind),
                     ms_confidence_name(c->confidence));
    }
}

static void print_text(struct msx_buf *b, const struct result *rs, size_t n)
{
    size_t total[3] = {0, 0, 0}, all = 0;
    for (size_t k = 0; k < n; k++) {
        size_t c[3];
        counts(rs[k].f, c);
        for (int s = 0; s < 3; s++)
            total[s] += c[s];
        all += ms_findings_count(rs[k].f);
        if (k)
            msx_buf_addc(b, '\n');
        escz(b, rs[k].session_id, false);
        msx_buf_addf(b, ": %lld turn%s, ", (long long)rs[k].turns, rs[k].turns == 1 ? "" : "s");
        if (ms_findings_count(rs[k].f) == 0)
            msx_buf_adds(b, "no findings");
        else
            count_line(b, c);
        msx_buf_addc(b, '\n');
        for (size_t i = 0; i < ms_findings_count(rs[k].f); i++) {
            text_finding(b, ms_findings_at(rs[k].f, i));
            code_lines(b, rs[k].links, i);
        }
    }
    if (n == 0)
        msx_buf_adds(b, "no sessions\n");
    if (n > 1) {
        msx_buf_addf(b, "\n%zu sessions, %zu finding%s: ", n, all, all == 1 ? "" : "s");
        count_line(b, total);
        msx_buf_addc(b, '\n');
    }
}

/* ---- markdown ----------------------------------------------------------- */

static void md_code(struct msx_buf *b, ms_str s)
{
    /* ids and paths: backticks cannot occur in ids; in paths they are
     * escaped by esc's md mode outside code spans, so keep it plain */
    esc(b, s, true);
}

static void print_md(struct msx_buf *b, const struct result *rs, size_t n)
{
    size_t total[3] = {0, 0, 0}, all = 0;
    msx_buf_adds(b, "# Session analysis\n");
    for (size_t k = 0; k < n; k++) {
        size_t c[3];
        counts(rs[k].f, c);
        for (int s = 0; s < 3; s++)
            total[s] += c[s];
        all += ms_findings_count(rs[k].f);
        msx_buf_adds(b, "\n## ");
        escz(b, rs[k].session_id, true);
        msx_buf_addf(b, "\n\n%lld turn%s, ", (long long)rs[k].turns, rs[k].turns == 1 ? "" : "s");
        if (ms_findings_count(rs[k].f) == 0) {
            msx_buf_adds(b, "no findings.\n");
            continue;
        }
        count_line(b, c);
        msx_buf_adds(b, ".\n\n| severity | turn | rule | finding | evidence |\n"
                        "|---|---|---|---|---|\n");
        for (size_t i = 0; i < ms_findings_count(rs[k].f); i++) {
            const ms_finding *f = ms_findings_at(rs[k].f, i);
            msx_buf_addf(b, "| %s%s | ", is_root(f) ? "**root** " : "",
                         ms_severity_name(f->severity));
            if (f->turn > 0)
                msx_buf_addf(b, "%lld", (long long)f->turn);
            else
                msx_buf_adds(b, "session");
            msx_buf_addf(b, " | %s | ", f->rule);
            esc(b, f->message, true);
            for (size_t j = 0; j < f->n_chain; j++) {
                const ms_link *l = &f->chain[j];
                msx_buf_adds(b, j == 0 ? "<br>cause: " : " &rarr; ");
                where(b, l->turn);
                if (l->why.len) {
                    msx_buf_adds(b, " ");
                    esc(b, l->why, true);
                }
            }
            msx_buf_adds(b, " | ");
            const char *sep = "";
            if (f->trace_id.len) {
                md_code(b, f->trace_id);
                sep = " ";
            }
            if (f->span_id.len) {
                msx_buf_addf(b, "%sspan ", sep);
                md_code(b, f->span_id);
                sep = " ";
            }
            if (f->path.len) {
                msx_buf_adds(b, sep);
                md_code(b, f->path);
                sep = " ";
            }
            if (f->excerpt.len) {
                msx_buf_addf(b, "%s&ldquo;", *sep ? "<br>" : "");
                esc(b, f->excerpt, true);
                msx_buf_adds(b, "&rdquo;");
            }
            code_cell(b, rs[k].links, i);
            msx_buf_adds(b, " |\n");
        }
    }
    msx_buf_addf(b, "\n**%zu session%s, %zu finding%s:** ", n, n == 1 ? "" : "s", all,
                 all == 1 ? "" : "s");
    count_line(b, total);
    msx_buf_adds(b, ".\n");
}

/* ---- json --------------------------------------------------------------- */

static int print_json(struct msx_buf *b, const struct result *rs, size_t n)
{
    struct msx_jw w;
    msx_jw_init(&w, b, MSX_JW_PRETTY | MSX_JW_ASCII);
    msx_json_parser *p = msx_json_parser_new();
    if (!p)
        return EXIT_WORK;
    size_t total[3] = {0, 0, 0}, all = 0;
    int rc = EXIT_OK;
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "schema_version");
    msx_jw_int(&w, 1);
    msx_jw_keyz(&w, "sessions");
    msx_jw_arr_begin(&w);
    for (size_t k = 0; k < n && rc == EXIT_OK; k++) {
        size_t c[3];
        counts(rs[k].f, c);
        for (int s = 0; s < 3; s++)
            total[s] += c[s];
        all += ms_findings_count(rs[k].f);
        msx_jw_obj_begin(&w);
        msx_jw_keyz(&w, "session_id");
        msx_jw_strz(&w, rs[k].session_id);
        msx_jw_keyz(&w, "turns");
        msx_jw_int(&w, rs[k].turns);
        msx_jw_keyz(&w, "findings");
        msx_jw_arr_begin(&w);
        for (size_t i = 0; i < ms_findings_count(rs[k].f); i++) {
            char *js = NULL;
            size_t len = 0;
            struct ms_error err = {0};
            msx_json v;
            if (ms_finding_to_json(ms_findings_at(rs[k].f, i), &js, &len) != MS_OK ||
                msx_json_parse(p, js, len, false, &v, &err) != MS_OK) {
                free(js);
                rc = EXIT_WORK;
                break;
            }
            msx_jw_value(&w, v);
            free(js);
        }
        msx_jw_arr_end(&w);
        if (rs[k].links) { /* --source: every finding's links, by finding index */
            msx_jw_keyz(&w, "code");
            msx_jw_arr_begin(&w);
            for (size_t i = 0; i < ms_code_links_count(rs[k].links) && rc == EXIT_OK; i++) {
                const ms_code_ref *cr = ms_code_links_at(rs[k].links, i);
                char *js = NULL;
                size_t len = 0;
                struct ms_error err = {0};
                msx_json v;
                if (cr->finding < 0)
                    continue;
                if (ms_code_link_to_json(cr, &js, &len) != MS_OK ||
                    msx_json_parse(p, js, len, false, &v, &err) != MS_OK)
                    rc = EXIT_WORK;
                else
                    msx_jw_value(&w, v);
                free(js);
            }
            msx_jw_arr_end(&w);
        }
        msx_jw_obj_end(&w);
    }
    msx_jw_arr_end(&w);
    msx_jw_keyz(&w, "summary");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "sessions");
    msx_jw_int(&w, (int64_t)n);
    msx_jw_keyz(&w, "findings");
    msx_jw_int(&w, (int64_t)all);
    msx_jw_keyz(&w, "by_severity");
    msx_jw_obj_begin(&w);
    msx_jw_keyz(&w, "error");
    msx_jw_int(&w, (int64_t)total[MS_SEV_ERROR]);
    msx_jw_keyz(&w, "warn");
    msx_jw_int(&w, (int64_t)total[MS_SEV_WARN]);
    msx_jw_keyz(&w, "info");
    msx_jw_int(&w, (int64_t)total[MS_SEV_INFO]);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    msx_jw_obj_end(&w);
    msx_buf_addc(b, '\n');
    msx_json_parser_free(p);
    return rc;
}

/* ---- the command --------------------------------------------------------- */

static void free_results(struct result *rs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rs[i].session_id);
        ms_findings_free(rs[i].f);
        ms_code_links_free(rs[i].links);
    }
    free(rs);
}

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

/* Loads and analyzes one session into *r; prints the error and returns
 * the exit status on failure. */
static int analyze_one(const struct cli_globals *g, ms_store *store, const struct cli_experiments *x,
                       const char *sid, const struct ms_analyze_options *o,
                       const ms_code_index *idx, struct result *r)
{
    struct ms_error err = {0};
    ms_session *s = NULL;
    ms_code c = ms_session_load(store, x->n ? x->ptrs : NULL, x->n, sid, &s, &err);
    if (c == MS_E_NOTFOUND) {
        struct msx_buf b;
        msx_buf_init(&b, MSX_CAP_LINE);
        escz(&b, sid, false);
        cli_error("analyze: no session '%s'", b.ptr ? b.ptr : "");
        msx_buf_release(&b);
        return EXIT_USAGE;
    }
    if (c != MS_OK) {
        cli_store_error(g, &err);
        return EXIT_USAGE;
    }
    r->session_id = dup_str(s->session_id);
    r->turns = (int64_t)s->n_turns;
    c = ms_analyze_session(s, o, &r->f, &err);
    if (c == MS_OK && idx)
        c = ms_code_link(idx, s, r->f, &r->links, &err);
    ms_session_free(s);
    if (c != MS_OK || !r->session_id) {
        cli_error("analyze: %s", c != MS_OK ? err.msg : "out of memory");
        return EXIT_WORK;
    }
    return EXIT_OK;
}

static int sev_order(const struct result *r)
{
    return ms_findings_max_severity(r->f);
}

/* --all: every session of the list, fetched many per store query */
struct visit {
    const struct ms_analyze_options *o;
    const ms_code_index *idx;
    struct result *rs;
    size_t n, want;
    struct cli_progress pr;
    struct ms_error err;
    bool failed;
};

static bool visit_one(void *ctx, const ms_session *s)
{
    struct visit *v = ctx;
    if (v->n >= v->want)
        return false;
    struct result *r = &v->rs[v->n];
    r->session_id = dup_str(s->session_id);
    r->turns = (int64_t)s->n_turns;
    if (!r->session_id || ms_analyze_session(s, v->o, &r->f, &v->err) != MS_OK ||
        (v->idx && ms_code_link(v->idx, s, r->f, &r->links, &v->err) != MS_OK)) {
        if (!r->session_id)
            snprintf(v->err.msg, sizeof v->err.msg, "out of memory");
        free(r->session_id);
        r->session_id = NULL;
        v->failed = true;
        return false;
    }
    v->n++;
    cli_progress_update(&v->pr, v->n, v->want);
    return true;
}

/* Most severe sessions first, the list's order (first turn) among equals. */
static int result_cmp(const void *x, const void *y)
{
    const struct result *a = x, *b = y;
    int sa = sev_order(a), sb = sev_order(b);
    if (sa != sb)
        return sb - sa;
    return (a->turns_order > b->turns_order) - (a->turns_order < b->turns_order);
}

int cmd_analyze(struct cli_globals *g, int argc, char **argv)
{
    struct cli_experiments x = {0};
    struct ms_analyze_options o;
    ms_analyze_options_init(&o);
    const char *v, *filter_text = NULL, *source = NULL;
    ms_code_index *code_idx = NULL;
    const char *ids[256];
    size_t n_ids = 0;
    bool all = false;
    enum fmt fmt = F_TEXT;
    int fail_on = MS_SEV_ERROR;
    char *rules_buf = NULL;
    const char *rules[MAX_RULES];
    int rc = EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            free(rules_buf);
            return EXIT_OK;
        }
        if (a[0] != '-') {
            if (n_ids == sizeof ids / sizeof ids[0]) {
                cli_error("analyze: too many session ids (at most 256; use --all)");
                rc = EXIT_USAGE;
                break;
            }
            ids[n_ids++] = a;
            continue;
        }
        if (cli_experiment_option(&x, argc, argv, &i, &rc)) {
            if (rc)
                break;
            continue;
        }
        if (strcmp(a, "--all") == 0) {
            all = true;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            fmt = F_JSON;
            continue;
        }
        if (cli_opt_value(argc, argv, &i, "--format", &v) ||
            cli_opt_value(argc, argv, &i, "--filter", &v) ||
            cli_opt_value(argc, argv, &i, "--rules", &v) ||
            cli_opt_value(argc, argv, &i, "--idle-gap", &v) ||
            cli_opt_value(argc, argv, &i, "--windows", &v) ||
            cli_opt_value(argc, argv, &i, "--fail-on", &v) ||
            cli_opt_value(argc, argv, &i, "--source", &v)) {
            if (!v) {
                cli_error("analyze: option %s needs a value", a);
                rc = EXIT_USAGE;
                break;
            }
            const char *name = a;
            if (strncmp(name, "--source", 8) == 0) {
                source = v;
            } else if (strncmp(name, "--format", 8) == 0) {
                if (strcmp(v, "text") == 0)
                    fmt = F_TEXT;
                else if (strcmp(v, "json") == 0)
                    fmt = F_JSON;
                else if (strcmp(v, "md") == 0)
                    fmt = F_MD;
                else {
                    cli_error("analyze: unknown --format '%s' (text, json, md)", v);
                    rc = EXIT_USAGE;
                    break;
                }
            } else if (strncmp(name, "--filter", 8) == 0) {
                filter_text = v;
            } else if (strncmp(name, "--rules", 7) == 0) {
                free(rules_buf);
                rules_buf = malloc(strlen(v) + 1);
                if (!rules_buf) {
                    cli_error("analyze: out of memory");
                    rc = EXIT_WORK;
                    break;
                }
                memcpy(rules_buf, v, strlen(v) + 1);
                o.n_rules = 0;
                for (char *tok = rules_buf; tok && rc == EXIT_OK;) {
                    char *comma = strchr(tok, ',');
                    if (comma)
                        *comma = '\0';
                    if (!rule_known(tok)) {
                        cli_error("analyze: unknown rule '%s' in --rules (see 'mlsession analyze "
                                  "--help')",
                                  tok);
                        rc = EXIT_USAGE;
                    } else if (o.n_rules == MAX_RULES) {
                        cli_error("analyze: too many --rules (at most %d)", MAX_RULES);
                        rc = EXIT_USAGE;
                    } else {
                        rules[o.n_rules++] = tok;
                    }
                    tok = comma ? comma + 1 : NULL;
                }
                if (rc)
                    break;
                o.rules = rules;
            } else if (strncmp(name, "--idle-gap", 10) == 0) {
                if (!parse_duration(v, &o.idle_gap_ms)) {
                    cli_error("analyze: --idle-gap wants a duration such as 90s, 30m, 2h, not '%s'",
                              v);
                    rc = EXIT_USAGE;
                    break;
                }
            } else if (strncmp(name, "--windows", 9) == 0) {
                if (!windows_valid(v)) {
                    cli_error("analyze: --windows wants MODEL=TOKENS,... such as "
                              "acme-small-4k=4096, not '%s'",
                              v);
                    rc = EXIT_USAGE;
                    break;
                }
                o.model_windows = v;
            } else {
                if (strcmp(v, "warn") == 0)
                    fail_on = MS_SEV_WARN;
                else if (strcmp(v, "error") == 0)
                    fail_on = MS_SEV_ERROR;
                else {
                    cli_error("analyze: unknown --fail-on '%s' (warn, error)", v);
                    rc = EXIT_USAGE;
                    break;
                }
            }
            continue;
        }
        cli_error("analyze: unknown option '%s' (see 'mlsession analyze --help')", a);
        rc = EXIT_USAGE;
        break;
    }
    if (rc == EXIT_OK && all && n_ids) {
        cli_error("analyze: give session ids or --all, not both");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK && filter_text && !all) {
        cli_error("analyze: --filter needs --all");
        rc = EXIT_USAGE;
    }
    if (rc == EXIT_OK && !all && n_ids == 0) {
        cli_error("analyze: which session? give SESSION_ID... or --all (see 'mlsession analyze "
                  "--help')");
        rc = EXIT_USAGE;
    }
    if (rc) {
        free(rules_buf);
        return rc;
    }

    struct ms_error err = {0};
    ms_sfilter *filter = NULL;
    if (filter_text && ms_sfilter_parse(filter_text, &filter, &err) != MS_OK) {
        cli_error("analyze: bad --filter: %s", err.msg);
        if (err.offset >= 0)
            fprintf(stderr, "  %s\n  %*s^\n", filter_text, (int)err.offset, "");
        free(rules_buf);
        return EXIT_USAGE;
    }
    if (source && ms_code_scan(source, NULL, &code_idx, &err) != MS_OK) {
        cli_error("analyze: --source %s", err.msg);
        ms_sfilter_free(filter);
        free(rules_buf);
        return err.code == MS_E_IO ? EXIT_USAGE : EXIT_WORK;
    }
    ms_store *store = cli_open_store(g);
    if (!store) {
        ms_code_index_free(code_idx);
        ms_sfilter_free(filter);
        free(rules_buf);
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
        q.filter = filter;
        q.sort = MS_SORT_FIRST;
        q.ascending = true;
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
        cli_error("analyze: out of memory");
        rc = EXIT_WORK;
        goto done;
    }
    if (all) {
        struct visit vis = {&o, code_idx, rs, 0, want, {0}, {0}, false};
        cli_progress_start(&vis.pr, g, "analyzing sessions");
        ms_code c = ms_sessions_foreach(store, l, visit_one, &vis, &vis.err);
        cli_progress_end(&vis.pr);
        n = vis.n;
        if (c != MS_OK || vis.failed) {
            if (c != MS_OK)
                cli_store_error(g, &vis.err);
            else
                cli_error("analyze: %s", vis.err.msg);
            rc = EXIT_WORK;
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            rs[i].turns_order = i;
        qsort(rs, n, sizeof *rs, result_cmp);
    }
    for (size_t k = 0; !all && k < want; k++) {
        rc = analyze_one(g, store, &x, ids[k], &o, code_idx, &rs[n]);
        n++;
        if (rc)
            goto done;
    }

    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_OUTPUT);
    if (fmt == F_JSON)
        rc = print_json(&b, rs, n);
    else if (fmt == F_MD)
        print_md(&b, rs, n);
    else
        print_text(&b, rs, n);
    if (rc == EXIT_OK && msx_buf_status(&b) != MS_OK) {
        cli_error("analyze: out of memory");
        rc = EXIT_WORK;
    }
    if (rc == EXIT_OK) {
        fwrite(b.ptr ? b.ptr : "", 1, b.len, stdout);
        for (size_t k = 0; k < n; k++)
            if (ms_findings_max_severity(rs[k].f) >= fail_on)
                rc = EXIT_WORK;
    }
    msx_buf_release(&b);
    if (fflush(stdout) != 0) {
        cli_error("analyze: cannot write the output");
        rc = EXIT_USAGE;
    }
done:
    free_results(rs, n);
    ms_code_index_free(code_idx);
    ms_session_list_free(l);
    ms_store_close(store);
    ms_sfilter_free(filter);
    free(rules_buf);
    return rc;
}
