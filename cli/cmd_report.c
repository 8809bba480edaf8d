/* SPDX-License-Identifier: MIT
 *
 * mlsession report SESSION_ID... | --all: one self-contained HTML file (or
 * Markdown) with the overview of the sessions, each session's timeline,
 * charts, findings, transcript and span trees, and the patterns across
 * sessions (docs/report.md). The library renders; this file picks the
 * sessions, streams them in, and writes -o FILE through a temporary file
 * renamed at the end, so a failed run leaves no half report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "mlsession/code.h"
#include "mlsession/report.h"
#include "mlsession/session.h"
#include "mlsession/sfilter.h"
#include "util/buf.h"
#include "util/uri.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mlsession report SESSION_ID... -o FILE [options]\n"
            "       mlsession report --all [-x EXP] [--filter EXPR] -o FILE [options]\n"
            "\n"
            "Writes one self-contained report: an overview table of the sessions, and per\n"
            "session a timeline of its turns (idle gaps to scale), tokens and latency per\n"
            "turn, the findings with their evidence and cause chains, the transcript and\n"
            "the span trees; across sessions, the first-error rate by turn index and how\n"
            "prompts grow. HTML needs no network: inline CSS and SVG, a CSP that forbids\n"
            "every fetch. On a tracking server, each trace links to MLflow's UI.\n"
            "\n"
            "Options:\n"
            "  --all                    every session of the experiments\n"
            "  -x, --experiment-id ID   only this experiment (repeatable)\n"
            "  --experiment-name NAME   only this experiment, by name\n"
            "  --filter EXPR            with --all: only sessions matching the session\n"
            "                           filter (see 'mlsession sessions --help')\n"
            "  -o, --output FILE        write the report there ('-' for stdout); required\n"
            "                           for html, default stdout for md\n"
            "  --format FMT             html (default) or md\n"
            "  --title TEXT             the report's title\n"
            "  --max-detail N           sessions given a full section (default 300); the\n"
            "                           rest are listed in the overview only\n"
            "  --idle-gap DUR           timing.idle_gap threshold (default 30m): 90s, 45m, 2h\n"
            "  --source DIR             link findings to the application's code in DIR\n"
            "                           (see 'mlsession correlate --help')\n"
            "\n"
            "Exit status: 0 written, 1 the work failed (I/O, out of memory),\n"
            "2 bad usage or input (unknown option or session, bad filter, store error).\n");
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
        if (strncmp(p, "ms", 2) == 0)
            unit = 1, p += 2;
        else if (*p == 's')
            unit = 1000, p++;
        else if (*p == 'm')
            unit = 60000, p++;
        else if (*p == 'h')
            unit = 3600000, p++;
        else if (*p == 'd')
            unit = 86400000, p++;
        else
            return false;
        if (n > (INT64_MAX - total) / unit)
            return false;
        total += n * unit;
    }
    *out = total;
    return total > 0;
}

static ms_code write_file(void *ctx, const char *p, size_t n)
{
    return fwrite(p, 1, n, (FILE *)ctx) == n ? MS_OK : MS_E_IO;
}

/* The tracking server's URL without user info, for links; NULL if the
 * store is not a server. Writes into out. */
static const char *ui_base(const char *uri, char *out, size_t n)
{
    if (!uri || (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0))
        return NULL;
    const char *host = strstr(uri, "://") + 3;
    const char *end = host + strcspn(host, "/?#");
    const char *at = memchr(host, '@', (size_t)(end - host));
    const char *from = at ? at + 1 : host;
    int k = snprintf(out, n, "%.*s%s", (int)(host - uri), uri, from);
    if (k < 0 || (size_t)k >= n)
        return NULL;
    return out;
}

struct visit {
    ms_report *rep;
    ms_code rc;
    struct ms_error *err;
    size_t done;
};

static bool visit(void *ctx, const ms_session *s)
{
    struct visit *v = ctx;
    v->rc = ms_report_add_session(v->rep, s, v->err);
    v->done++;
    return v->rc == MS_OK;
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

/* Prints the session id for a message: control bytes as \xNN. */
static void no_session(const char *sid)
{
    struct msx_buf b;
    msx_buf_init(&b, MSX_CAP_LINE);
    for (const unsigned char *p = (const unsigned char *)sid; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            msx_buf_addf(&b, "\\x%02x", *p);
        else
            msx_buf_addc(&b, (char)*p);
    cli_error("report: no session '%s'", b.ptr ? b.ptr : "");
    msx_buf_release(&b);
}

int cmd_report(struct cli_globals *g, int argc, char **argv)
{
    struct cli_experiments x = {0};
    struct ms_analyze_options ao;
    ms_analyze_options_init(&ao);
    struct ms_report_options o;
    ms_report_options_init(&o);
    o.analyze = &ao;
    const char *v, *filter_text = NULL, *outpath = NULL, *source = NULL;
    ms_code_index *code = NULL;
    const char *ids[256];
    size_t n_ids = 0;
    bool all = false;
    int rc = EXIT_OK;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            usage(stdout);
            return EXIT_OK;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            if (n_ids == sizeof ids / sizeof ids[0]) {
                cli_error("report: too many session ids (at most 256; use --all)");
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
        if (cli_opt_value(argc, argv, &i, "--format", &v) ||
            cli_opt_value(argc, argv, &i, "--filter", &v) ||
            cli_opt_value(argc, argv, &i, "--output", &v) ||
            cli_opt_value(argc, argv, &i, "-o", &v) ||
            cli_opt_value(argc, argv, &i, "--title", &v) ||
            cli_opt_value(argc, argv, &i, "--max-detail", &v) ||
            cli_opt_value(argc, argv, &i, "--idle-gap", &v) ||
            cli_opt_value(argc, argv, &i, "--source", &v)) {
            if (!v) {
                cli_error("report: option %s needs a value", a);
                return EXIT_USAGE;
            }
            if (strncmp(a, "--format", 8) == 0) {
                if (strcmp(v, "html") == 0)
                    o.format = MS_REPORT_HTML;
                else if (strcmp(v, "md") == 0)
                    o.format = MS_REPORT_MD;
                else {
                    cli_error("report: unknown --format '%s' (html, md)", v);
                    return EXIT_USAGE;
                }
            } else if (strncmp(a, "--filter", 8) == 0) {
                filter_text = v;
            } else if (strncmp(a, "--source", 8) == 0) {
                source = v;
            } else if (strncmp(a, "--title", 7) == 0) {
                o.title = v;
            } else if (strncmp(a, "--max-detail", 12) == 0) {
                char *end = NULL;
                unsigned long long nmax = strtoull(v, &end, 10);
                if (!*v || *v == '-' || *end || nmax == 0 || nmax > 1000000) {
                    cli_error("report: --max-detail wants a number from 1 to 1000000, not '%s'",
                              v);
                    return EXIT_USAGE;
                }
                o.max_detail = (size_t)nmax;
            } else if (strncmp(a, "--idle-gap", 10) == 0) {
                if (!parse_duration(v, &ao.idle_gap_ms)) {
                    cli_error("report: --idle-gap wants a duration such as 90s, 30m, 2h, not '%s'",
                              v);
                    return EXIT_USAGE;
                }
            } else {
                outpath = v;
            }
            continue;
        }
        cli_error("report: unknown option '%s' (see 'mlsession report --help')", a);
        return EXIT_USAGE;
    }
    if (all && n_ids) {
        cli_error("report: give session ids or --all, not both");
        return EXIT_USAGE;
    }
    if (filter_text && !all) {
        cli_error("report: --filter needs --all");
        return EXIT_USAGE;
    }
    if (!all && n_ids == 0) {
        cli_error("report: which sessions? give SESSION_ID... or --all (see 'mlsession report "
                  "--help')");
        return EXIT_USAGE;
    }
    if (!outpath && o.format == MS_REPORT_HTML) {
        cli_error("report: an HTML report needs -o FILE (or -o - for stdout)");
        return EXIT_USAGE;
    }
    if (outpath && !*outpath) {
        cli_error("report: -o needs a file name");
        return EXIT_USAGE;
    }

    struct ms_error err = {0};
    ms_sfilter *filter = NULL;
    if (filter_text && ms_sfilter_parse(filter_text, &filter, &err) != MS_OK) {
        cli_error("report: bad --filter: %s", err.msg);
        if (err.offset >= 0)
            fprintf(stderr, "  %s\n  %*s^\n", filter_text, (int)err.offset, "");
        return EXIT_USAGE;
    }
    ms_store *store = cli_open_store(g);
    if (!store) {
        ms_sfilter_free(filter);
        return EXIT_USAGE;
    }
    char shown[512], base[1024];
    const char *uri = g->tracking_uri;
    if (uri) {
        msx_uri_redact(uri, shown, sizeof shown);
        o.store = shown;
    }
    o.ui_base_url = ui_base(uri, base, sizeof base);

    ms_session_list *l = NULL;
    ms_report *rep = NULL;
    FILE *fp = NULL;
    char *tmp = NULL;
    bool to_stdout = !outpath || strcmp(outpath, "-") == 0;
    if (!cli_resolve_experiments(store, &x)) {
        rc = EXIT_USAGE;
        goto done;
    }
    struct ms_session_query q = {0};
    q.version = 1;
    q.experiment_ids = x.n ? x.ptrs : NULL;
    q.n_experiment_ids = x.n;
    q.filter = filter;
    q.sort = MS_SORT_FIRST;
    q.ascending = true;
    q.with_trace_ids = true;
    if (all && ms_sessions_list(store, &q, &l, &err) != MS_OK) {
        cli_store_error(g, &err);
        rc = EXIT_USAGE;
        goto done;
    }
    if (to_stdout) {
        /* spooled, so that a failure half-way prints nothing */
        fp = tmpfile();
        if (!fp) {
            cli_error("report: cannot create a temporary file");
            rc = EXIT_WORK;
            goto done;
        }
    } else {
        size_t n = strlen(outpath) + 32;
        tmp = malloc(n);
        if (!tmp) {
            cli_error("report: out of memory");
            rc = EXIT_WORK;
            goto done;
        }
        snprintf(tmp, n, "%s.tmp-%ld", outpath, (long)getpid());
        fp = fopen(tmp, "wb");
        if (!fp) {
            cli_error("report: cannot write '%s'", outpath);
            free(tmp);
            tmp = NULL;
            rc = EXIT_WORK;
            goto done;
        }
    }
    if (source) {
        if (ms_code_scan(source, NULL, &code, &err) != MS_OK) {
            cli_error("report: --source %s", err.msg);
            rc = EXIT_USAGE;
            goto done;
        }
        o.code = code;
    }
    if (ms_report_begin(&o, write_file, fp, &rep, &err) != MS_OK) {
        cli_error("%s", err.msg);
        rc = EXIT_WORK;
        goto done;
    }
    if (all) {
        struct visit vs = {rep, MS_OK, &err, 0};
        ms_code c = ms_sessions_foreach(store, l, visit, &vs, &err);
        if (c == MS_OK)
            c = vs.rc;
        else if (c == MS_E_STORE && vs.rc == MS_OK) {
            /* a server that refuses the batched query: one session at a time */
            c = MS_OK;
            for (size_t i = vs.done; i < ms_session_list_count(l) && c == MS_OK; i++) {
                char *sid = dup_str(ms_session_list_at(l, i)->session_id);
                ms_session *s = NULL;
                c = sid ? ms_session_load(store, q.experiment_ids, q.n_experiment_ids, sid, &s, &err)
                        : MS_E_NOMEM;
                if (c == MS_OK)
                    c = ms_report_add_session(rep, s, &err);
                ms_session_free(s);
                free(sid);
            }
        }
        if (c != MS_OK) {
            if (c == MS_E_STORE)
                cli_store_error(g, &err);
            else
                cli_error("%s", err.msg);
            rc = c == MS_E_STORE ? EXIT_USAGE : EXIT_WORK;
            goto done;
        }
    } else {
        for (size_t k = 0; k < n_ids; k++) {
            ms_session *s = NULL;
            ms_code c = ms_session_load(store, q.experiment_ids, q.n_experiment_ids, ids[k], &s,
                                        &err);
            if (c == MS_E_NOTFOUND) {
                no_session(ids[k]);
                rc = EXIT_USAGE;
                goto done;
            }
            if (c != MS_OK) {
                cli_store_error(g, &err);
                rc = EXIT_USAGE;
                goto done;
            }
            c = ms_report_add_session(rep, s, &err);
            ms_session_free(s);
            if (c != MS_OK) {
                cli_error("%s", err.msg);
                rc = EXIT_WORK;
                goto done;
            }
        }
    }
    if (ms_report_finish(rep, &err) != MS_OK) {
        cli_error("%s", err.msg);
        rc = EXIT_WORK;
        goto done;
    }
    if (fflush(fp) != 0 || ferror(fp)) {
        cli_error("report: cannot write the report");
        rc = EXIT_WORK;
        goto done;
    }
    if (to_stdout) {
        char chunk[65536];
        size_t n;
        rewind(fp);
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
            if (fwrite(chunk, 1, n, stdout) != n)
                break;
        if (ferror(fp) || fflush(stdout) != 0 || ferror(stdout)) {
            cli_error("report: cannot write the report");
            rc = EXIT_WORK;
            goto done;
        }
    } else {
        int cr = fclose(fp);
        fp = NULL;
        if (cr != 0 || rename(tmp, outpath) != 0) {
            cli_error("report: cannot write '%s'", outpath);
            rc = EXIT_WORK;
            goto done;
        }
        free(tmp);
        tmp = NULL;
        if (!g->quiet)
            fprintf(stderr, "mlsession: report: %zu session%s, %zu finding%s written to %s\n",
                ms_report_sessions(rep), ms_report_sessions(rep) == 1 ? "" : "s",
                    ms_report_findings(rep), ms_report_findings(rep) == 1 ? "" : "s", outpath);
    }
done:
    if (fp)
        fclose(fp);
    if (tmp) {
        remove(tmp);
        free(tmp);
    }
    ms_report_free(rep);
    ms_code_index_free(code);
    ms_session_list_free(l);
    ms_store_close(store);
    ms_sfilter_free(filter);
    return rc;
}
