/* SPDX-License-Identifier: MIT
 *
 * link.c - joins the code sites of an index with one session: span and
 * tool names to their definitions, every frame of every exception event to
 * a file and line of the tree (path-suffix matching when the trace was
 * recorded on another machine, checked against the recorded source line and
 * the enclosing function), context and history findings to the code that
 * windows, trims, counts or stores the history, and the session id to where
 * the code sets it, or to the gap where it does not. Every link says how
 * sure it is and why. No pcre2 here (frames are parsed in detect.c).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "code/code_int.h"
#include "util/buf.h"

#define MAX_FRAMES 256
#define MAX_PER_SUBJECT 6
#define MAX_CONTEXT_LINKS 6
#define FILE_CACHE 8

struct ms_code_links {
    struct msx_arena arena;
    ms_code_ref *v;
    size_t n, cap;
    size_t frames, frames_linked;
};

struct cached_file {
    const char *path; /* borrowed from the index */
    char *text;
    size_t len;
};

struct ctx {
    const ms_code_index *idx;
    const ms_session *s;
    const ms_findings *f;
    ms_code_links *out;
    struct cached_file cache[FILE_CACHE];
    size_t n_cache;
    ms_code rc;
    struct msi_frame *frames;
    /* function definitions of the files looked into, found on demand */
    ms_code_index *fidx;
    const char *fn_files[64];
    size_t n_fn_files;
    /* the session's distinct span names, first occurrence */
    struct name_ref {
        ms_str name;
        bool is_tool;
        int64_t turn;
        ms_str span_id;
    } *names;
    size_t n_names, cap_names;
    /* files that define some of them, with how many */
    struct near_file {
        ms_str file;
        size_t n;
    } *near;
    size_t n_near;
};

static ms_str S(const char *z)
{
    return (ms_str){z, z ? strlen(z) : 0};
}

static bool str_eq(ms_str a, ms_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static ms_str dup(struct ctx *c, ms_str s)
{
    if (!s.len)
        return (ms_str){NULL, 0};
    char *p = msx_arena_strndup(&c->out->arena, s.ptr, s.len);
    if (!p) {
        c->rc = MS_E_NOMEM;
        return (ms_str){NULL, 0};
    }
    return (ms_str){p, s.len};
}

static ms_str fmt(struct ctx *c, const char *f, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(tmp, sizeof tmp, f, ap);
    va_end(ap);
    if (n < 0)
        return (ms_str){NULL, 0};
    size_t len = (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1;
    return dup(c, (ms_str){tmp, len});
}

static void add(struct ctx *c, const ms_code_ref *k)
{
    ms_code_links *o = c->out;
    if (c->rc != MS_OK)
        return;
    /* the same target for the same subject once */
    for (size_t i = 0; i < o->n; i++) {
        const ms_code_ref *e = &o->v[i];
        if (e->finding == k->finding && e->kind == k->kind && e->line == k->line &&
            e->turn == k->turn && str_eq(e->file, k->file) && str_eq(e->subject, k->subject))
            return;
    }
    if (o->n == o->cap) {
        size_t nc = o->cap ? o->cap * 2 : 32;
        ms_code_ref *nv = realloc(o->v, nc * sizeof *nv);
        if (!nv) {
            c->rc = MS_E_NOMEM;
            return;
        }
        o->v = nv;
        o->cap = nc;
    }
    o->v[o->n++] = *k;
}

/* A link to a site; strings copied. */
static void add_site(struct ctx *c, const ms_code_site *st, ms_code_kind kind, int64_t finding,
                     int64_t turn, ms_str span_id, ms_str subject, ms_confidence conf,
                     ms_str reason)
{
    ms_code_ref k = {0};
    k.kind = kind;
    k.finding = finding;
    k.turn = turn;
    k.span_id = dup(c, span_id);
    k.subject = dup(c, subject);
    k.file = dup(c, st->file);
    k.line = st->line;
    k.text = dup(c, st->text);
    k.confidence = conf;
    k.reason = reason;
    k.detector = st->detector;
    add(c, &k);
}

/* ---- the session's spans ------------------------------------------------ */

struct span_ref {
    const ms_span *sp;
    int64_t turn;
};

/* The span of that id in the session, or NULL. */
static struct span_ref find_span(const ms_session *s, ms_str id)
{
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_trace *tr = s->turns[t].trace;
        for (size_t i = 0; tr && i < tr->n_spans; i++)
            if (strlen(tr->spans[i].span_id) == id.len &&
                memcmp(tr->spans[i].span_id, id.ptr, id.len) == 0)
                return (struct span_ref){&tr->spans[i], s->turns[t].index};
    }
    return (struct span_ref){NULL, 0};
}

/* Does name match the template tpl ("chat {self.model}": the literal parts
 * in order)? */
static bool template_match(ms_str tpl, ms_str name)
{
    size_t i = 0, j = 0;
    bool first = true;
    while (i < tpl.len) {
        size_t b = i;
        while (i < tpl.len && tpl.ptr[i] != '{')
            i++;
        size_t lit = i - b;
        if (lit) {
            if (first) {
                if (name.len < lit || memcmp(name.ptr, tpl.ptr + b, lit) != 0)
                    return false;
                j = lit;
            } else {
                bool found = false;
                for (; j + lit <= name.len; j++)
                    if (memcmp(name.ptr + j, tpl.ptr + b, lit) == 0) {
                        found = true;
                        j += lit;
                        break;
                    }
                if (!found)
                    return false;
            }
        }
        first = false;
        if (i < tpl.len) { /* skip {...} */
            while (i < tpl.len && tpl.ptr[i] != '}')
                i++;
            i++;
            if (i >= tpl.len)
                return true; /* ends with a placeholder */
        }
    }
    return j == name.len;
}

static bool is_template(ms_str s)
{
    return memchr(s.ptr, '{', s.len) != NULL;
}

static bool name_matches_site(const ms_code_site *st, ms_str name)
{
    return str_eq(st->name, name) || (is_template(st->name) && template_match(st->name, name));
}

/* How many of the session's distinct span names the file defines. */
static size_t near_count(const struct ctx *c, ms_str file)
{
    for (size_t i = 0; i < c->n_near; i++)
        if (str_eq(c->near[i].file, file))
            return c->near[i].n;
    return 0;
}

/* The most span names any file defining `name` defines. */
static size_t best_near(const struct ctx *c, ms_str name)
{
    size_t best = 0;
    for (size_t i = 0; i < c->idx->n_sites; i++) {
        const ms_code_site *st = &c->idx->sites[i];
        if (st->kind == MS_CODE_SPAN && str_eq(st->name, name)) {
            size_t k = near_count(c, st->file);
            if (k > best)
                best = k;
        }
    }
    return best;
}

/* Is exactly one file among those defining `name` at that count? */
static bool unique_best(const struct ctx *c, ms_str name, size_t best)
{
    ms_str file = {NULL, 0};
    for (size_t i = 0; i < c->idx->n_sites; i++) {
        const ms_code_site *st = &c->idx->sites[i];
        if (st->kind == MS_CODE_SPAN && str_eq(st->name, name) &&
            near_count(c, st->file) == best) {
            if (file.ptr && !str_eq(file, st->file))
                return false;
            file = st->file;
        }
    }
    return true;
}

static bool name_matches_site(const ms_code_site *st, ms_str name);

/* Collects the session's distinct span names, and the files defining them. */
static void collect_names(struct ctx *c)
{
    const ms_session *s = c->s;
    for (size_t t = 0; t < s->n_turns && c->rc == MS_OK; t++) {
        const ms_trace *tr = s->turns[t].trace;
        for (size_t i = 0; tr && i < tr->n_spans; i++) {
            const ms_span *sp = &tr->spans[i];
            if (!sp->name.len)
                continue;
            bool seen = false;
            for (size_t k = 0; k < c->n_names && !seen; k++)
                seen = str_eq(c->names[k].name, sp->name);
            if (seen)
                continue;
            if (c->n_names == c->cap_names) {
                size_t nc = c->cap_names ? c->cap_names * 2 : 16;
                struct name_ref *nn = realloc(c->names, nc * sizeof *nn);
                if (!nn) {
                    c->rc = MS_E_NOMEM;
                    return;
                }
                c->names = nn;
                c->cap_names = nc;
            }
            c->names[c->n_names++] = (struct name_ref){
                sp->name, sp->span_type.len == 4 && memcmp(sp->span_type.ptr, "TOOL", 4) == 0,
                s->turns[t].index, (ms_str){sp->span_id, strlen(sp->span_id)}};
        }
    }
    /* per file: how many distinct names it defines */
    for (size_t i = 0; i < c->idx->n_sites && c->rc == MS_OK; i++) {
        const ms_code_site *st = &c->idx->sites[i];
        if (st->kind != MS_CODE_SPAN || !st->name.len)
            continue;
        bool hit = false;
        for (size_t k = 0; k < c->n_names && !hit; k++)
            hit = name_matches_site(st, c->names[k].name);
        if (!hit)
            continue;
        size_t f = 0;
        while (f < c->n_near && !str_eq(c->near[f].file, st->file))
            f++;
        if (f == c->n_near) {
            struct near_file *nn = realloc(c->near, (c->n_near + 1) * sizeof *nn);
            if (!nn) {
                c->rc = MS_E_NOMEM;
                return;
            }
            c->near = nn;
            c->near[c->n_near++] = (struct near_file){st->file, 0};
        }
        c->near[f].n++;
    }
}

/* Links span or tool `name` (a TOOL when is_tool) to its definitions. */
static void link_name(struct ctx *c, ms_str name, bool is_tool, int64_t finding, int64_t turn,
                      ms_str span_id)
{
    const ms_code_index *idx = c->idx;
    size_t n_exact = 0, n_any = 0;
    for (size_t i = 0; i < idx->n_sites; i++) {
        const ms_code_site *st = &idx->sites[i];
        if ((st->kind == MS_CODE_SPAN || st->kind == MS_CODE_TOOL) && st->name.len) {
            if (str_eq(st->name, name) && st->kind == MS_CODE_SPAN)
                n_exact++;
            if (str_eq(st->name, name) || (is_template(st->name) && template_match(st->name, name)))
                n_any++;
        }
    }
    size_t added = 0;
    for (size_t i = 0; i < idx->n_sites && added < MAX_PER_SUBJECT; i++) {
        const ms_code_site *st = &idx->sites[i];
        if (!(st->kind == MS_CODE_SPAN || st->kind == MS_CODE_TOOL) || !st->name.len)
            continue;
        bool exact = str_eq(st->name, name);
        bool tpl = !exact && is_template(st->name) && template_match(st->name, name);
        if (!exact && !tpl)
            continue;
        ms_confidence conf;
        ms_str why;
        size_t here = near_count(c, st->file), best = best_near(c, name);
        if (!tpl && st->kind == MS_CODE_SPAN && n_exact > 1 && best > 0) {
            if (here == best && unique_best(c, name, best)) {
                conf = MS_CONF_HIGH;
                why = fmt(c, "%s; one of %zu definitions of that name, in the file that defines "
                             "%zu of this session's span names",
                          st->what, n_exact, here);
            } else {
                conf = MS_CONF_LOW;
                why = fmt(c, "%s; one of %zu definitions of that name, in a file that defines "
                             "fewer of this session's spans",
                          st->what, n_exact);
            }
        } else if (tpl) {
            conf = MS_CONF_MEDIUM;
            why = fmt(c, "the span name is built at run time from \"%.*s\" (%s)",
                      (int)st->name.len, st->name.ptr, st->what);
        } else if (st->kind == MS_CODE_SPAN) {
            conf = n_exact > 1 ? MS_CONF_MEDIUM : MS_CONF_HIGH;
            why = n_exact > 1 ? fmt(c, "%s; one of %zu definitions of that name", st->what, n_exact)
                              : fmt(c, "%s", st->what);
        } else if (strcmp(st->detector, "tool.schema") == 0) {
            conf = is_tool ? MS_CONF_MEDIUM : MS_CONF_LOW;
            why = fmt(c, "%s under this name (not the code that runs it)", st->what);
        } else {
            conf = is_tool && n_any == 1 ? MS_CONF_HIGH : MS_CONF_MEDIUM;
            why = fmt(c, "%s%s", st->what, is_tool ? "" : "; the span is not a TOOL span");
        }
        add_site(c, st, is_tool ? MS_CODE_TOOL : MS_CODE_SPAN, finding, turn, span_id, name, conf,
                 why);
        added++;
    }
    if (added == 0 && is_tool) {
        /* no span or tool definition: a function of that name, said so */
        for (size_t i = 0; i < idx->n_sites && added < MAX_PER_SUBJECT; i++) {
            const ms_code_site *st = &idx->sites[i];
            if (st->kind != MS_CODE_FUNCTION || !str_eq(st->name, name))
                continue;
            add_site(c, st, MS_CODE_TOOL, finding, turn, span_id, name, MS_CONF_LOW,
                     S("a function of the tool's name; no tool registration was found, so this "
                       "is a guess by name"));
            added++;
        }
    }
}

static bool span_is_tool(const ms_span *sp)
{
    return sp->span_type.len == 4 && memcmp(sp->span_type.ptr, "TOOL", 4) == 0;
}

/* Every distinct span and tool name of the session, session-wide. */
static void link_spans(struct ctx *c)
{
    for (size_t k = 0; k < c->n_names; k++)
        link_name(c, c->names[k].name, c->names[k].is_tool, -1, c->names[k].turn,
                  c->names[k].span_id);
}

/* ---- frames ------------------------------------------------------------- */

static const char *file_text(struct ctx *c, const char *path, size_t *len)
{
    for (size_t i = 0; i < c->n_cache; i++)
        if (c->cache[i].path == path) {
            *len = c->cache[i].len;
            return c->cache[i].text;
        }
    if (!c->idx->root)
        return NULL;
    struct msx_buf p;
    msx_buf_init(&p, MSX_CAP_LINE);
    msx_buf_addf(&p, "%s/%s", c->idx->root, path);
    if (msx_buf_status(&p) != MS_OK) {
        msx_buf_release(&p);
        return NULL;
    }
    FILE *fp = fopen(p.ptr, "rb");
    msx_buf_release(&p);
    if (!fp)
        return NULL;
    struct msx_buf b;
    msx_buf_init(&b, MSI_CODE_DEFAULT_MAX * 4);
    char tmp[65536];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, fp)) > 0)
        msx_buf_add(&b, tmp, got);
    fclose(fp);
    msx_buf_addc(&b, '\0');
    if (msx_buf_status(&b) != MS_OK) {
        msx_buf_release(&b);
        return NULL;
    }
    size_t n = 0;
    char *text = msx_buf_take(&b, &n);
    msx_buf_release(&b);
    if (c->n_cache == FILE_CACHE) {
        free(c->cache[0].text);
        memmove(c->cache, c->cache + 1, (FILE_CACHE - 1) * sizeof c->cache[0]);
        c->n_cache--;
    }
    c->cache[c->n_cache++] = (struct cached_file){path, text, n - 1};
    *len = n - 1;
    return text;
}

/* Line `line` of the file, trimmed; {NULL,0} if it has fewer lines. */
static ms_str line_at(struct ctx *c, const char *path, int64_t line)
{
    size_t len = 0;
    const char *t = file_text(c, path, &len);
    if (!t || line < 1)
        return (ms_str){NULL, 0};
    const char *p = t, *end = t + len;
    for (int64_t k = 1; k < line; k++) {
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            return (ms_str){NULL, 0};
        p++;
    }
    const char *e = memchr(p, '\n', (size_t)(end - p));
    if (!e)
        e = end;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    size_t n = (size_t)(e - p);
    if (n > 200) {
        n = 200;
        while (n > 0 && ((unsigned char)p[n] & 0xC0) == 0x80)
            n--;
    }
    return (ms_str){p, n};
}

static ms_str nearest_def(const ms_code_index *idx, const char *path, int64_t line, bool *any)
{
    ms_str best = {NULL, 0};
    int64_t best_line = 0;
    size_t pl = strlen(path);
    for (size_t i = 0; idx && i < idx->n_sites; i++) {
        const ms_code_site *st = &idx->sites[i];
        if (st->kind != MS_CODE_FUNCTION || st->file.len != pl ||
            memcmp(st->file.ptr, path, pl) != 0)
            continue;
        *any = true;
        if (st->line <= line && st->line >= best_line) {
            best = st->name;
            best_line = st->line;
        }
    }
    return best;
}

/* The function around `line` of file: the nearest definition above it.
 * A tree scan leaves function definitions out (they match everywhere), so
 * the file is read and searched for them here, once per file. */
static ms_str enclosing(struct ctx *c, const char *path, int64_t line)
{
    bool any = false;
    ms_str best = nearest_def(c->idx, path, line, &any);
    if (any || c->idx->with_functions)
        return best;
    bool done = false;
    for (size_t i = 0; i < c->n_fn_files && !done; i++)
        done = strcmp(c->fn_files[i], path) == 0;
    if (!done && c->n_fn_files < 64) {
        if (!c->fidx) {
            c->fidx = calloc(1, sizeof *c->fidx);
            if (!c->fidx) {
                c->rc = MS_E_NOMEM;
                return best;
            }
            msx_arena_init(&c->fidx->arena, 0);
            c->fidx->detectors = c->idx->detectors;
            c->fidx->borrowed_detectors = true;
        }
        c->fn_files[c->n_fn_files++] = path;
        size_t len = 0;
        const char *text = file_text(c, path, &len);
        if (text && msi_detect_functions(c->fidx, path, msi_code_lang_of(path), text, len) != MS_OK)
            c->rc = MS_E_NOMEM;
    }
    return nearest_def(c->fidx, path, line, &any);
}

/* Components of b's tail that equal a's tail ("x/app.py" vs "/tmp/y/app.py": 1). */
static size_t common_suffix(const char *a, size_t an, const char *b, size_t bn, bool *whole_b)
{
    size_t k = 0;
    *whole_b = false;
    while (an > 0 && bn > 0) {
        size_t as = an, bs = bn;
        while (as > 0 && a[as - 1] != '/')
            as--;
        while (bs > 0 && b[bs - 1] != '/')
            bs--;
        if (an - as != bn - bs || memcmp(a + as, b + bs, an - as) != 0)
            break;
        k++;
        if (bs == 0) {
            *whole_b = true;
            break;
        }
        an = as - 1;
        bn = bs - 1;
        if (as == 0)
            break;
    }
    return k;
}

static bool lines_equal(ms_str a, const char *b)
{
    size_t bn = strlen(b);
    return bn > 0 && a.len == bn && memcmp(a.ptr, b, bn) == 0;
}

struct frame_target {
    const char *path; /* in the index */
    ms_confidence conf;
    ms_str reason;
    ms_str text;
};

/* Maps a recorded frame to a file of the tree; false if none fits. */
static bool map_frame(struct ctx *c, const struct msi_frame *fr, struct frame_target *out)
{
    const ms_code_index *idx = c->idx;
    char rec[sizeof fr->file];
    size_t rn = strlen(fr->file);
    memcpy(rec, fr->file, rn + 1);
    for (size_t i = 0; i < rn; i++)
        if (rec[i] == '\\')
            rec[i] = '/';
    const char *r = rec;
    while (r[0] == '.' && r[1] == '/')
        r += 2, rn -= 2;
    bool in_root = false;
    if (idx->root_real) {
        size_t ln = strlen(idx->root_real);
        if (rn > ln && memcmp(r, idx->root_real, ln) == 0 && r[ln] == '/') {
            r += ln + 1;
            rn -= ln + 1;
            in_root = true;
        }
    }
    /* best: the most components in common; then the line check decides */
    size_t best_k = 0, n_best = 0;
    const struct msi_code_file *cand[16];
    bool cand_whole[16];
    for (size_t i = 0; i < idx->n_files; i++) {
        const char *fp = idx->files[i].path;
        bool whole;
        size_t k = common_suffix(r, rn, fp, strlen(fp), &whole);
        if (in_root && !(whole && strlen(fp) == rn))
            continue;
        if (k == 0 || k < best_k)
            continue;
        if (k > best_k) {
            best_k = k;
            n_best = 0;
        }
        if (n_best < 16) {
            cand[n_best] = &idx->files[i];
            cand_whole[n_best] = whole;
            n_best++;
        }
    }
    if (best_k == 0)
        return false;
    /* among equals, the one whose line holds the recorded source, or whose
     * enclosing function is the frame's */
    size_t pick = 0;
    int pick_score = -1;
    ms_str pick_text = {NULL, 0};
    for (size_t i = 0; i < n_best; i++) {
        ms_str t = line_at(c, cand[i]->path, fr->line);
        ms_str fn = enclosing(c, cand[i]->path, fr->line);
        int score = 0;
        if (fr->source[0] && lines_equal(t, fr->source))
            score += 2;
        if (fr->func[0] && fn.len == strlen(fr->func) && memcmp(fn.ptr, fr->func, fn.len) == 0)
            score += 1;
        if (score > pick_score) {
            pick = i;
            pick_score = score;
            pick_text = t;
        }
    }
    const struct msi_code_file *f = cand[pick];
    out->path = f->path;
    out->text = pick_text;
    char how[300];
    if (in_root)
        snprintf(how, sizeof how, "the recorded path is in the tree");
    else if (cand_whole[pick] && strchr(f->path, '/'))
        snprintf(how, sizeof how, "path suffix %s of the recorded %.200s", f->path, fr->file);
    else
        snprintf(how, sizeof how, "%s by file name only; recorded as %.200s", f->path, fr->file);
    const char *amb = n_best > 1 ? "; other files of that name" : "";
    bool src_known = fr->source[0] != '\0';
    bool src_ok = src_known && lines_equal(pick_text, fr->source);
    ms_str fn = enclosing(c, f->path, fr->line);
    bool fn_ok = fr->func[0] && fn.len == strlen(fr->func) && memcmp(fn.ptr, fr->func, fn.len) == 0;
    bool module = strcmp(fr->func, "<module>") == 0;
    if (!pick_text.len && !src_ok) {
        out->conf = MS_CONF_LOW;
        out->reason = fmt(c, "%s%s; the file has no line %lld now: it changed since the trace",
                          how, amb, (long long)fr->line);
    } else if (src_known && !src_ok) {
        out->conf = MS_CONF_LOW;
        out->reason = fmt(c, "%s%s; line %lld no longer holds the recorded source \"%.80s\": the "
                             "file changed since the trace",
                          how, amb, (long long)fr->line, fr->source);
    } else if (src_ok && (fn_ok || module)) {
        out->conf = n_best > 1 && pick_score < 3 ? MS_CONF_MEDIUM : MS_CONF_HIGH;
        out->reason = fmt(c, "%s%s; the line holds the recorded source, in %s", how, amb,
                          fr->func);
    } else if (src_ok) {
        out->conf = MS_CONF_MEDIUM;
        out->reason = fmt(c, "%s%s; the line holds the recorded source, but the enclosing "
                             "function is not %s",
                          how, amb, fr->func);
    } else if (fn_ok) {
        /* without a recorded source line, a bare file name is not enough */
        out->conf = in_root || (cand_whole[pick] && strchr(f->path, '/') && n_best == 1)
                        ? MS_CONF_HIGH
                        : MS_CONF_MEDIUM;
        out->reason = fmt(c, "%s%s; the line is inside %s (no source recorded to compare)", how,
                          amb, fr->func);
    } else {
        out->conf = MS_CONF_LOW;
        out->reason = fmt(c, "%s%s; the line is not inside %s: the file may have changed", how,
                          amb, fr->func[0] ? fr->func : "the recorded function");
    }
    return true;
}

static ms_str attr_plain(const ms_event *e, const char *key)
{
    for (size_t i = 0; i < e->n_attrs; i++)
        if (e->attrs[i].key.len == strlen(key) && memcmp(e->attrs[i].key.ptr, key, e->attrs[i].key.len) == 0)
            return e->attrs[i].value;
    return (ms_str){NULL, 0};
}

static bool starts(const char *s, const char *p);

/* Frames go with the findings about failures, not with every finding that
 * points at the span (a slow span, say). */
static bool frames_belong(const ms_finding *fd)
{
    return starts(fd->rule, "error.") || starts(fd->rule, "loop.") || starts(fd->rule, "cause.");
}

static void link_frames_of(struct ctx *c, const ms_span *sp, int64_t turn)
{
    ms_str sid = {sp->span_id, strlen(sp->span_id)};
    for (size_t e = 0; e < sp->n_events; e++) {
        const ms_event *ev = &sp->events[e];
        if (ev->name.len != 9 || memcmp(ev->name.ptr, "exception", 9) != 0)
            continue;
        ms_str st = attr_plain(ev, "exception.stacktrace");
        ms_str ty = attr_plain(ev, "exception.type");
        if (!st.len)
            continue;
        size_t n = msi_parse_frames(c->idx->detectors, st.ptr, st.len, c->frames, MAX_FRAMES);
        c->out->frames += n;
        for (size_t k = 0; k < n; k++) {
            const struct msi_frame *fr = &c->frames[k];
            struct frame_target tg;
            if (!map_frame(c, fr, &tg))
                continue;
            c->out->frames_linked++;
            ms_code_ref l = {0};
            l.kind = MS_CODE_FRAME;
            l.turn = turn;
            l.span_id = dup(c, sid);
            l.frame = (int64_t)k + 1;
            l.subject = fmt(c, "%zu/%zu in %s%s%.*s", k + 1, n, fr->func[0] ? fr->func : "?",
                            ty.len ? " (" : "", (int)(ty.len > 120 ? 120 : ty.len), ty.ptr);
            if (ty.len)
                l.subject = fmt(c, "%.*s)", (int)l.subject.len, l.subject.ptr);
            l.file = dup(c, S(tg.path));
            l.line = fr->line;
            l.text = dup(c, tg.text);
            l.confidence = tg.conf;
            l.reason = tg.reason;
            l.detector = "frame";
            /* to each finding on this span; else session-wide */
            bool any = false;
            for (size_t i = 0; i < ms_findings_count(c->f); i++) {
                const ms_finding *fd = ms_findings_at(c->f, i);
                if (str_eq(fd->span_id, sid) && frames_belong(fd)) {
                    l.finding = (int64_t)i;
                    add(c, &l);
                    any = true;
                }
            }
            if (!any) {
                l.finding = -1;
                add(c, &l);
            }
        }
    }
}

static void link_frames(struct ctx *c)
{
    const ms_session *s = c->s;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_trace *tr = s->turns[t].trace;
        for (size_t i = 0; tr && i < tr->n_spans; i++)
            if (tr->spans[i].n_events)
                link_frames_of(c, &tr->spans[i], s->turns[t].index);
    }
}

/* ---- findings ----------------------------------------------------------- */

static bool starts(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static ms_str enclosing(struct ctx *c, const char *path, int64_t line);

/* Rank of a site as evidence: for a dropped history, code that empties it
 * comes first; then trimming, then counting, then settings. -1: not
 * evidence for this finding. */
static int context_rank(struct ctx *c, const ms_code_site *st, bool history, bool window)
{
    const char *d = st->detector;
    if (starts(d, "memory.history_")) {
        if (!history)
            return -1;
        /* a constructor setting up an empty history drops nothing */
        ms_str fn = enclosing(c, st->file.ptr, st->line);
        if ((fn.len == 8 && memcmp(fn.ptr, "__init__", 8) == 0) ||
            (fn.len == 11 && memcmp(fn.ptr, "constructor", 11) == 0))
            return -1;
        return 0;
    }
    if (st->kind == MS_CODE_MEMORY)
        return history ? 4 : -1;
    if (st->kind != MS_CODE_CONTEXT)
        return -1;
    if (starts(d, "context.negative_slice") || starts(d, "context.slice") ||
        starts(d, "context.sublist") || starts(d, "context.pop") || starts(d, "context.trim") ||
        starts(d, "context.window_memory") || starts(d, "context.summarize"))
        return 1;
    if (!window && !history)
        return -1;
    return starts(d, "context.token_count") ? 2 : 3;
}

static bool mentions(ms_str s, const char *what)
{
    size_t n = strlen(what);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.ptr + i, what, n) == 0)
            return true;
    return false;
}

static void link_context(struct ctx *c, size_t fi, const ms_finding *fd)
{
    const char *rule = fd->rule;
    if (strcmp(rule, "cause.root") == 0) /* a root cause takes its symptom's rule */
        rule = mentions(fd->message, "integrity.history_dropped") ? "integrity.history_dropped"
               : mentions(fd->message, "context.window")           ? "context.window"
               : mentions(fd->message, "context.drop")             ? "context.drop"
                                                                   : "";
    bool history = strcmp(rule, "integrity.history_dropped") == 0 ||
                   strcmp(rule, "context.drop") == 0;
    bool window = strcmp(rule, "context.window") == 0;
    bool growth = strcmp(rule, "context.growth") == 0;
    if (!history && !window && !growth)
        return;
    const ms_code_index *idx = c->idx;
    size_t added = 0;
    /* best evidence first; within a rank, files that define this session's
     * spans before the rest of the tree */
    for (int rank = 0; rank <= 4 && added < MAX_CONTEXT_LINKS; rank++) {
        for (int pass = 0; pass < 2 && added < MAX_CONTEXT_LINKS; pass++) {
            for (size_t i = 0; i < idx->n_sites && added < MAX_CONTEXT_LINKS; i++) {
                const ms_code_site *st = &idx->sites[i];
                if (st->kind != MS_CODE_CONTEXT && st->kind != MS_CODE_MEMORY)
                    continue;
                bool near = near_count(c, st->file) > 0;
                if ((pass == 0) != near || context_rank(c, st, history, window) != rank)
                    continue;
                ms_confidence conf = near ? MS_CONF_MEDIUM : MS_CONF_LOW;
                ms_str why;
                if (rank == 0)
                    why = fmt(c, "%s outside a constructor%s: a history dropped between turns "
                                 "starts where the code empties it",
                              st->what, near ? ", in a file that defines this session's spans"
                                             : ", elsewhere in the tree (not tied to this "
                                               "session's spans)");
                else if (near)
                    why = fmt(c, "%s, in a file that defines this session's spans", st->what);
                else
                    why = fmt(c, "%s, elsewhere in the tree: not tied to this session's spans",
                              st->what);
                add_site(c, st, st->kind, (int64_t)fi, fd->turn, fd->span_id, S(fd->rule), conf,
                         why);
                added++;
            }
        }
    }
}

static void link_findings(struct ctx *c)
{
    for (size_t i = 0; i < ms_findings_count(c->f) && c->rc == MS_OK; i++) {
        const ms_finding *fd = ms_findings_at(c->f, i);
        if (fd->span_id.len) {
            struct span_ref r = find_span(c->s, fd->span_id);
            /* a root span says little about a finding on the whole turn */
            bool specific = r.sp && (r.sp->parent_id[0] || starts(fd->rule, "error."));
            if (specific && r.sp->name.len)
                link_name(c, r.sp->name, span_is_tool(r.sp), (int64_t)i, r.turn, fd->span_id);
        }
        link_context(c, i, fd);
    }
}

/* ---- the session id ----------------------------------------------------- */

enum { F_META = 1, F_TAG = 2, F_ATTR = 4, F_OTHER = 8 };

static bool contains(ms_str s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s.len; i++)
        if (memcmp(s.ptr + i, needle, n) == 0)
            return true;
    return false;
}

static unsigned site_flavour(const ms_code_site *st)
{
    const char *d = st->detector;
    if (starts(d, "session.otel_") || strcmp(d, "session.openinference") == 0)
        return F_ATTR;
    if (strcmp(d, "session.thread_id") == 0)
        return F_OTHER;
    if (contains(st->text, "tags") || contains(st->text, "Tags"))
        return F_TAG;
    if (strcmp(d, "session.update_current_trace_md") == 0 ||
        strcmp(d, "session.update_current_trace_js") == 0)
        return F_META | F_TAG; /* which depends on the dict passed */
    return F_META;
}

static bool attr_names(const ms_span *sp, const char *key, ms_str sid)
{
    const ms_attr *a = ms_span_attr(sp, key);
    if (!a)
        return false;
    ms_str v = a->value;
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
        v.ptr++, v.len -= 2;
    return str_eq(v, sid);
}

static void link_session_id(struct ctx *c)
{
    const ms_session *s = c->s;
    unsigned have = 0;
    size_t by_src[5] = {0};
    int64_t attr_only_turn = 0;
    for (size_t t = 0; t < s->n_turns; t++) {
        const ms_trace *tr = s->turns[t].trace;
        ms_sid_source src = MS_SID_NONE;
        (void)ms_trace_session_id(tr, &src, NULL);
        if ((unsigned)src < 5)
            by_src[src]++;
        if (src == MS_SID_METADATA)
            have |= F_META;
        else if (src == MS_SID_TAG || src == MS_SID_LEGACY_TAG)
            have |= F_TAG;
        else if (src == MS_SID_SPAN_ATTR) {
            have |= F_ATTR;
            if (!attr_only_turn)
                attr_only_turn = s->turns[t].index;
        }
        for (size_t i = 0; tr && i < tr->n_spans; i++)
            if (attr_names(&tr->spans[i], "session.id", s->session_id) ||
                attr_names(&tr->spans[i], "gen_ai.conversation.id", s->session_id))
                have |= F_ATTR;
    }
    const char *src_name = by_src[MS_SID_METADATA]   ? "metadata mlflow.trace.session"
                           : by_src[MS_SID_TAG]      ? "the tag mlflow.trace.session"
                           : by_src[MS_SID_LEGACY_TAG] ? "the legacy tag session_id"
                                                       : "span attributes session.id";
    const ms_code_index *idx = c->idx;
    size_t matched = 0, sites = 0;
    unsigned kinds = (unsigned)__builtin_popcount(have & (F_META | F_TAG | F_ATTR));
    for (size_t i = 0; i < idx->n_sites; i++)
        if (idx->sites[i].kind == MS_CODE_SESSION_ID) {
            sites++;
            if (site_flavour(&idx->sites[i]) & have)
                matched++;
        }
    /* the sites that record the id the way this session has it; the others
     * only when none does (they are then the nearest evidence) */
    for (size_t i = 0; i < idx->n_sites; i++) {
        const ms_code_site *st = &idx->sites[i];
        if (st->kind != MS_CODE_SESSION_ID)
            continue;
        unsigned fl = site_flavour(st);
        bool near = near_count(c, st->file) > 0;
        ms_confidence conf;
        ms_str why;
        if (fl & have) {
            bool exact = kinds == 1 && __builtin_popcount(fl) == 1;
            conf = !near ? MS_CONF_LOW : exact ? MS_CONF_HIGH : MS_CONF_MEDIUM;
            why = fmt(c, "%s; this session's id is recorded in %s%s%s", st->what, src_name,
                      kinds > 1 ? " and span attributes" : "",
                      near ? ", and this file defines its spans"
                           : "; this file defines none of its spans");
        } else if (matched) {
            continue;
        } else if (fl == F_OTHER) {
            conf = MS_CONF_LOW;
            why = fmt(c, "%s: a framework's conversation id, not what MLflow records", st->what);
        } else {
            conf = MS_CONF_LOW;
            why = fmt(c, "%s; this session's id is recorded in %s instead", st->what, src_name);
        }
        add_site(c, st, MS_CODE_SESSION_ID, -1, 0, (ms_str){NULL, 0}, s->session_id, conf, why);
    }
    ms_code_ref g = {0};
    g.kind = MS_CODE_SESSION_ID;
    g.finding = -1;
    g.subject = dup(c, s->session_id);
    g.detector = "gap";
    if (sites == 0) {
        g.confidence = MS_CONF_MEDIUM;
        g.reason = fmt(c, "no code in the tree sets a session id; this session's id is recorded "
                          "in %s, so it is set outside the scanned tree (or by a framework)",
                       src_name);
        add(c, &g);
    } else if (matched == 0) {
        g.confidence = MS_CONF_MEDIUM;
        g.reason = fmt(c, "the code sets session ids, but none the way this session records "
                          "its id (%s)",
                       src_name);
        add(c, &g);
    }
    if (by_src[MS_SID_TAG] + by_src[MS_SID_LEGACY_TAG] > 0 && by_src[MS_SID_METADATA] == 0) {
        g.confidence = MS_CONF_HIGH;
        g.reason = fmt(c, "the session id is a trace tag, not metadata: MLflow's session view "
                          "and trace_info.session_id need mlflow.update_current_trace("
                          "metadata={\"mlflow.trace.session\": ...})");
        add(c, &g);
    }
    if (attr_only_turn) {
        g.confidence = MS_CONF_HIGH;
        g.turn = attr_only_turn;
        g.reason = fmt(c, "%zu turn%s (first: turn %lld) carry the session id only in span "
                          "attributes (session.id / gen_ai.conversation.id), not in trace metadata",
                       by_src[MS_SID_SPAN_ATTR], by_src[MS_SID_SPAN_ATTR] == 1 ? "" : "s",
                       (long long)attr_only_turn);
        add(c, &g);
    }
}

/* ---- entry -------------------------------------------------------------- */

/* A frame shown under a finding is not repeated session-wide (an exception
 * recorded again on each enclosing span). */
static void drop_repeated_frames(ms_code_links *l)
{
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        const ms_code_ref *k = &l->v[i];
        bool dup = false;
        if (k->kind == MS_CODE_FRAME && k->finding == -1)
            for (size_t j = 0; j < l->n && !dup; j++) {
                const ms_code_ref *e = &l->v[j];
                dup = j != i && e->kind == MS_CODE_FRAME && e->turn == k->turn &&
                      e->line == k->line && str_eq(e->file, k->file) &&
                      (e->finding >= 0 || j < i);
            }
        if (!dup)
            l->v[w++] = *k;
    }
    l->n = w;
}

static int cmp_links(const void *a, const void *b)
{
    const ms_code_ref *x = a, *y = b;
    uint64_t fx = (uint64_t)x->finding, fy = (uint64_t)y->finding; /* -1 last */
    if (fx != fy)
        return fx < fy ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->turn != y->turn)
        return x->turn < y->turn ? -1 : 1;
    if (x->kind == MS_CODE_FRAME) {
        size_t sn = x->span_id.len < y->span_id.len ? x->span_id.len : y->span_id.len;
        int sc = sn ? memcmp(x->span_id.ptr, y->span_id.ptr, sn) : 0;
        if (sc)
            return sc;
        if (x->frame != y->frame)
            return x->frame < y->frame ? -1 : 1;
    }
    size_t n = x->file.len < y->file.len ? x->file.len : y->file.len;
    int cm = n ? memcmp(x->file.ptr, y->file.ptr, n) : 0;
    if (cm)
        return cm;
    if (x->file.len != y->file.len)
        return x->file.len < y->file.len ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    n = x->subject.len < y->subject.len ? x->subject.len : y->subject.len;
    cm = n ? memcmp(x->subject.ptr, y->subject.ptr, n) : 0;
    if (cm)
        return cm;
    return x->subject.len < y->subject.len ? -1 : x->subject.len > y->subject.len;
}

MS_API ms_code ms_code_link(const ms_code_index *idx, const ms_session *s,
                            const ms_findings *findings, ms_code_links **out,
                            struct ms_error *err)
{
    *out = NULL;
    ms_code_links *l = calloc(1, sizeof *l);
    struct msi_frame *frames = malloc(MAX_FRAMES * sizeof *frames);
    if (!l || !frames) {
        free(l);
        free(frames);
        if (err) {
            err->code = MS_E_NOMEM;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "out of memory");
        }
        return MS_E_NOMEM;
    }
    msx_arena_init(&l->arena, 0);
    struct ctx c = {.idx = idx, .s = s, .f = findings, .out = l, .frames = frames};
    collect_names(&c);
    link_session_id(&c);
    link_findings(&c);
    link_frames(&c);
    link_spans(&c);
    drop_repeated_frames(l);
    ms_code_index_free(c.fidx); /* its detectors are borrowed */
    for (size_t i = 0; i < c.n_cache; i++)
        free(c.cache[i].text);
    free(frames);
    free(c.names);
    free(c.near);
    if (c.rc != MS_OK) {
        ms_code_links_free(l);
        if (err) {
            err->code = c.rc;
            err->offset = -1;
            snprintf(err->msg, sizeof err->msg, "out of memory");
        }
        return c.rc;
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_links);
    *out = l;
    return MS_OK;
}

static ms_code nomem(struct ms_error *err)
{
    if (err) {
        err->code = MS_E_NOMEM;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    return MS_E_NOMEM;
}

MS_API ms_code ms_code_link_unsessioned(const ms_code_index *idx, const ms_trace *const *traces,
                                        size_t n, ms_code_links **out, struct ms_error *err)
{
    *out = NULL;
    ms_code_links *l = calloc(1, sizeof *l);
    if (!l)
        return nomem(err);
    msx_arena_init(&l->arena, 0);
    ms_session empty = {0};
    struct ctx c = {.idx = idx, .s = &empty, .out = l};
    /* where the code does set session ids: the first site of each file */
    char where[256] = "";
    size_t wl = 0, n_sites = 0;
    for (size_t i = 0; i < idx->n_sites; i++) {
        const ms_code_site *st = &idx->sites[i];
        if (st->kind != MS_CODE_SESSION_ID || site_flavour(st) == F_OTHER)
            continue;
        if (n_sites++ < 3 && wl + st->file.len + 24 < sizeof where) {
            int k = snprintf(where + wl, sizeof where - wl, "%s%.*s:%lld", wl ? ", " : "",
                             (int)st->file.len, st->file.ptr, (long long)st->line);
            if (k > 0)
                wl += (size_t)k;
        }
    }
    /* distinct root span names, with counts */
    for (size_t i = 0; i < n && c.rc == MS_OK; i++) {
        const ms_trace *t = traces[i];
        const ms_span *root = NULL;
        for (size_t j = 0; t && j < t->n_spans && !root; j++)
            if (!t->spans[j].parent_id[0])
                root = &t->spans[j];
        if (!root || !root->name.len)
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++) {
            const ms_trace *u = traces[k];
            for (size_t j = 0; u && j < u->n_spans; j++)
                if (!u->spans[j].parent_id[0]) {
                    seen = str_eq(u->spans[j].name, root->name);
                    break;
                }
        }
        if (seen)
            continue;
        size_t count = 0;
        for (size_t k = i; k < n; k++) {
            const ms_trace *u = traces[k];
            for (size_t j = 0; u && j < u->n_spans; j++)
                if (!u->spans[j].parent_id[0]) {
                    count += str_eq(u->spans[j].name, root->name);
                    break;
                }
        }
        ms_str sid = {root->span_id, strlen(root->span_id)};
        link_name(&c, root->name, span_is_tool(root), -1, 0, sid);
        ms_code_ref g = {0};
        g.kind = MS_CODE_SESSION_ID;
        g.finding = -1;
        g.subject = dup(&c, root->name);
        g.detector = "gap";
        g.confidence = MS_CONF_MEDIUM;
        g.reason = n_sites ? fmt(&c, "%zu trace%s rooted in span %.*s record%s no session id; the "
                                     "code sets one elsewhere (%s) but not on this path",
                                 count, count == 1 ? "" : "s", (int)root->name.len,
                                 root->name.ptr, count == 1 ? "s" : "", where)
                           : fmt(&c, "%zu trace%s rooted in span %.*s record%s no session id, "
                                     "and no code in the tree sets one",
                                 count, count == 1 ? "" : "s", (int)root->name.len,
                                 root->name.ptr, count == 1 ? "s" : "");
        add(&c, &g);
    }
    if (c.rc != MS_OK) {
        ms_code_links_free(l);
        return nomem(err);
    }
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_links);
    *out = l;
    return MS_OK;
}

MS_API void ms_code_links_free(ms_code_links *l)
{
    if (!l)
        return;
    free(l->v);
    msx_arena_release(&l->arena);
    free(l);
}

MS_API size_t ms_code_links_count(const ms_code_links *l)
{
    return l ? l->n : 0;
}

MS_API const ms_code_ref *ms_code_links_at(const ms_code_links *l, size_t i)
{
    return l && i < l->n ? &l->v[i] : NULL;
}

MS_API size_t ms_code_links_frames(const ms_code_links *l, size_t *linked)
{
    if (linked)
        *linked = l ? l->frames_linked : 0;
    return l ? l->frames : 0;
}

MS_API const char *ms_code_kind_name(ms_code_kind k)
{
    switch (k) {
    case MS_CODE_SESSION_ID: return "session_id";
    case MS_CODE_CONTEXT: return "context";
    case MS_CODE_MEMORY: return "memory";
    case MS_CODE_SPAN: return "span";
    case MS_CODE_TOOL: return "tool";
    case MS_CODE_FRAME: return "frame";
    case MS_CODE_FUNCTION: return "function";
    }
    return "unknown";
}

MS_API const char *ms_confidence_name(ms_confidence c)
{
    return c == MS_CONF_HIGH ? "high" : c == MS_CONF_MEDIUM ? "medium" : "low";
}
