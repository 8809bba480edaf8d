/* SPDX-License-Identifier: MIT
 *
 * scan.c - the walk over a source tree: .gitignore rules (nested files,
 * negation, dir-only patterns, ** globs), vendored and generated files left
 * out, binary detection (a NUL in the first 8 KiB), a size cap per file,
 * symlinks followed except into a directory already walked (dev/inode), and
 * unreadable entries counted, never fatal. Each source file is read whole
 * and handed to the detectors (detect.c). POSIX only; no pcre2 here.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "code/code_int.h"
#include "util/buf.h"

#define MAX_DEPTH 128
#define MAX_PATH 4096
#define SNIFF 8192

/* ---- .gitignore ------------------------------------------------------- */

struct gi_rule {
    char *pat;
    size_t len;
    bool negate, dir_only, anchored;
};

struct ms_gitignore {
    struct gi_rule *rules;
    size_t n;
};

/* Glob with pathname semantics: '*' and '?' stop at '/'; a double star
 * between slashes spans directories, zero or more of them. */
static bool glob(const char *p, size_t pn, const char *s, size_t sn, int depth)
{
    if (depth > 64)
        return false;
    size_t i = 0, j = 0;
    while (i < pn) {
        char c = p[i];
        if (c == '*') {
            bool dbl = i + 1 < pn && p[i + 1] == '*';
            if (dbl && (i == 0 || p[i - 1] == '/')) {
                size_t k = i + 2;
                if (k == pn)
                    return true; /* a trailing double star: everything below */
                if (p[k] == '/') {
                    /* double star then slash: zero or more directories */
                    for (size_t t = j; t <= sn; t++)
                        if ((t == j || s[t - 1] == '/') &&
                            glob(p + k + 1, pn - k - 1, s + t, sn - t, depth + 1))
                            return true;
                    return false;
                }
            }
            while (i < pn && p[i] == '*')
                i++;
            for (size_t t = j; t <= sn; t++) {
                if (glob(p + i, pn - i, s + t, sn - t, depth + 1))
                    return true;
                if (t < sn && s[t] == '/')
                    break;
            }
            return false;
        }
        if (j >= sn)
            return false;
        if (c == '?') {
            if (s[j] == '/')
                return false;
            i++, j++;
            continue;
        }
        if (c == '[') {
            size_t k = i + 1;
            bool neg = false, hit = false;
            if (k < pn && (p[k] == '!' || p[k] == '^'))
                neg = true, k++;
            size_t first = k;
            while (k < pn && (p[k] != ']' || k == first)) {
                unsigned char lo = (unsigned char)p[k], hi = lo;
                if (lo == '\\' && k + 1 < pn)
                    lo = hi = (unsigned char)p[++k];
                if (k + 2 < pn && p[k + 1] == '-' && p[k + 2] != ']') {
                    hi = (unsigned char)p[k + 2];
                    k += 2;
                }
                if ((unsigned char)s[j] >= lo && (unsigned char)s[j] <= hi)
                    hit = true;
                k++;
            }
            if (k >= pn) { /* no closing bracket: a literal '[' */
                if (s[j] != '[')
                    return false;
                i++, j++;
                continue;
            }
            if (hit == neg || s[j] == '/')
                return false;
            i = k + 1, j++;
            continue;
        }
        if (c == '\\' && i + 1 < pn)
            c = p[++i];
        if (s[j] != c)
            return false;
        i++, j++;
    }
    return j == sn;
}

MS_API ms_code ms_gitignore_parse(const char *text, size_t len, ms_gitignore **out)
{
    *out = NULL;
    ms_gitignore *g = calloc(1, sizeof *g);
    if (!g)
        return MS_E_NOMEM;
    size_t cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *b = p;
        p = nl ? nl + 1 : end;
        if (le > b && le[-1] == '\r')
            le--;
        /* trailing spaces are dropped unless escaped */
        while (le > b && le[-1] == ' ' && !(le - 1 > b && le[-2] == '\\'))
            le--;
        if (le == b || *b == '#')
            continue;
        struct gi_rule r = {0};
        if (*b == '!') {
            r.negate = true;
            b++;
        } else if (*b == '\\' && b + 1 < le && (b[1] == '!' || b[1] == '#')) {
            b++;
        }
        if (le > b && le[-1] == '/') {
            r.dir_only = true;
            le--;
        }
        if (le == b)
            continue;
        size_t bl = le > b ? (size_t)(le - b) : 0;
        if (bl && memchr(b, '/', bl))
            r.anchored = true;
        if (*b == '/')
            b++;
        if (le == b)
            continue;
        if (g->n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct gi_rule *nr = realloc(g->rules, nc * sizeof *nr);
            if (!nr) {
                ms_gitignore_free(g);
                return MS_E_NOMEM;
            }
            g->rules = nr;
            cap = nc;
        }
        r.len = (size_t)(le - b);
        r.pat = malloc(r.len + 1);
        if (!r.pat) {
            ms_gitignore_free(g);
            return MS_E_NOMEM;
        }
        memcpy(r.pat, b, r.len);
        r.pat[r.len] = '\0';
        g->rules[g->n++] = r;
    }
    *out = g;
    return MS_OK;
}

MS_API void ms_gitignore_free(ms_gitignore *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++)
        free(g->rules[i].pat);
    free(g->rules);
    free(g);
}

MS_API int ms_gitignore_match(const ms_gitignore *g, const char *path, bool is_dir)
{
    if (!g || !path)
        return -1;
    size_t n = strlen(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t bn = strlen(base);
    for (size_t i = g->n; i-- > 0;) {
        const struct gi_rule *r = &g->rules[i];
        if (r->dir_only && !is_dir)
            continue;
        bool m = r->anchored ? glob(r->pat, r->len, path, n, 0)
                             : glob(r->pat, r->len, base, bn, 0);
        if (m)
            return r->negate ? 0 : 1;
    }
    return -1;
}

/* ---- the index ---------------------------------------------------------- */

MS_API void ms_code_options_init(struct ms_code_options *o)
{
    memset(o, 0, sizeof *o);
    o->version = 1;
    o->max_file_bytes = MSI_CODE_DEFAULT_MAX;
}

MS_API ms_code ms_code_index_new(ms_code_index **out)
{
    *out = NULL;
    ms_code_index *idx = calloc(1, sizeof *idx);
    if (!idx)
        return MS_E_NOMEM;
    msx_arena_init(&idx->arena, 0);
    idx->detectors = msi_detectors_new();
    if (!idx->detectors) {
        ms_code_index_free(idx);
        return MS_E_NOMEM;
    }
    *out = idx;
    return MS_OK;
}

MS_API void ms_code_index_free(ms_code_index *idx)
{
    if (!idx)
        return;
    if (!idx->borrowed_detectors)
        msi_detectors_free(idx->detectors);
    free(idx->sites);
    free(idx->files);
    msx_arena_release(&idx->arena);
    free(idx);
}

ms_code msi_code_add_site(ms_code_index *idx, const ms_code_site *s)
{
    if (idx->n_sites == idx->cap_sites) {
        size_t nc = idx->cap_sites ? idx->cap_sites * 2 : 64;
        ms_code_site *ns = realloc(idx->sites, nc * sizeof *ns);
        if (!ns)
            return MS_E_NOMEM;
        idx->sites = ns;
        idx->cap_sites = nc;
    }
    idx->sites[idx->n_sites++] = *s;
    return MS_OK;
}

static ms_code add_file(ms_code_index *idx, const char *path, ms_code_lang lang)
{
    if (idx->n_files == idx->cap_files) {
        size_t nc = idx->cap_files ? idx->cap_files * 2 : 64;
        struct msi_code_file *nf = realloc(idx->files, nc * sizeof *nf);
        if (!nf)
            return MS_E_NOMEM;
        idx->files = nf;
        idx->cap_files = nc;
    }
    idx->files[idx->n_files++] = (struct msi_code_file){path, lang};
    return MS_OK;
}

MS_API ms_code ms_code_scan_buffer(ms_code_index *idx, const char *name, const char *buf,
                                   size_t len, struct ms_error *err)
{
    ms_code_lang lang = msi_code_lang_of(name);
    idx->with_functions = true; /* a buffer is a test or a fuzz input: every detector */
    char *path = msx_arena_strndup(&idx->arena, name, strlen(name));
    ms_code rc = path ? add_file(idx, path, lang) : MS_E_NOMEM;
    if (rc == MS_OK && lang != MS_LANG_NONE) {
        idx->stats.files_scanned++;
        idx->stats.bytes_scanned += len;
        rc = msi_detect(idx, path, lang, buf, len);
    }
    if (rc != MS_OK && err) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    return rc;
}

MS_API const ms_code_stats *ms_code_index_stats(const ms_code_index *idx)
{
    return &idx->stats;
}

MS_API size_t ms_code_site_count(const ms_code_index *idx)
{
    return idx ? idx->n_sites : 0;
}

MS_API const ms_code_site *ms_code_site_at(const ms_code_index *idx, size_t i)
{
    return i < idx->n_sites ? &idx->sites[i] : NULL;
}

MS_API size_t ms_code_skipped_count(const ms_code_index *idx)
{
    return idx ? idx->n_skipped : 0;
}

MS_API const char *ms_code_skipped_path(const ms_code_index *idx, size_t i, ms_code_skip *why)
{
    if (i >= idx->n_skipped)
        return NULL;
    if (why)
        *why = idx->skipped[i].why;
    return idx->skipped[i].path;
}

MS_API const char *ms_code_skip_name(ms_code_skip s)
{
    switch (s) {
    case MS_SKIP_IGNORED: return "ignored";
    case MS_SKIP_VENDORED: return "vendored";
    case MS_SKIP_GENERATED: return "generated";
    case MS_SKIP_BINARY: return "binary";
    case MS_SKIP_TOO_BIG: return "too big";
    case MS_SKIP_UNREADABLE: return "unreadable";
    case MS_SKIP_LOOP: return "symlink loop";
    case MS_SKIP_SPECIAL: return "not a regular file";
    }
    return "skipped";
}

/* ---- the walk ----------------------------------------------------------- */

struct devino {
    dev_t dev;
    ino_t ino;
};

struct walk {
    ms_code_index *idx;
    const struct ms_code_options *o;
    uint64_t max;
    char *buf; /* file contents, reused */
    size_t cap;
    struct devino *seen; /* open addressing; ino 0 = empty */
    size_t n_seen, cap_seen;
    ms_gitignore *gi[MAX_DEPTH + 1]; /* per depth, NULL if none */
    size_t gi_base[MAX_DEPTH + 1];   /* rel-path offset of that .gitignore's folder */
    ms_code rc;
};

static size_t dihash(struct devino d, size_t cap)
{
    uint64_t h = (uint64_t)d.dev * 0x9e3779b97f4a7c15ULL ^ (uint64_t)d.ino * 0xff51afd7ed558ccdULL;
    return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Records a directory; false if it was seen before (a loop or a second
 * way into it). */
static bool seen_add(struct walk *w, dev_t dev, ino_t ino)
{
    struct devino d = {dev, ino ? ino : (ino_t)-1};
    if ((w->n_seen + 1) * 2 > w->cap_seen) {
        size_t nc = w->cap_seen ? w->cap_seen * 2 : 256;
        struct devino *ns = calloc(nc, sizeof *ns);
        if (!ns) {
            w->rc = MS_E_NOMEM;
            return false;
        }
        for (size_t i = 0; i < w->cap_seen; i++)
            if (w->seen[i].ino) {
                size_t k = dihash(w->seen[i], nc);
                while (ns[k].ino)
                    k = (k + 1) & (nc - 1);
                ns[k] = w->seen[i];
            }
        free(w->seen);
        w->seen = ns;
        w->cap_seen = nc;
    }
    size_t k = dihash(d, w->cap_seen);
    while (w->seen[k].ino) {
        if (w->seen[k].ino == d.ino && w->seen[k].dev == d.dev)
            return false;
        k = (k + 1) & (w->cap_seen - 1);
    }
    w->seen[k] = d;
    w->n_seen++;
    return true;
}

static void note_skip(struct walk *w, const char *rel, ms_code_skip why)
{
    ms_code_index *idx = w->idx;
    idx->stats.skipped[why]++;
    if (why == MS_SKIP_IGNORED || why == MS_SKIP_VENDORED || idx->n_skipped >= MSI_CODE_MAX_SKIPPED)
        return;
    char *p = msx_arena_strndup(&idx->arena, rel, strlen(rel));
    if (!p) {
        w->rc = MS_E_NOMEM;
        return;
    }
    idx->skipped[idx->n_skipped++] = (struct msi_code_skipped){p, why};
}

static const char *const vendored[] = {
    ".git",   ".hg",         ".svn",         "node_modules", "vendor",     "venv",
    ".venv",  "dist",        "build",        "__pycache__",  "third_party", ".tox",
    ".mypy_cache", "site-packages", "bower_components", ".pytest_cache", ".next", "target",
};

static bool is_vendored(const char *name)
{
    for (size_t i = 0; i < sizeof vendored / sizeof vendored[0]; i++)
        if (strcmp(name, vendored[i]) == 0)
            return true;
    return false;
}

/* Is rel (relative to the root) ignored by the .gitignore files of its
 * ancestors? The deepest file that has a matching rule decides. */
static bool ignored(const struct walk *w, int depth, const char *rel, bool is_dir)
{
    if (w->o->no_gitignore)
        return false;
    for (int d = depth; d >= 0; d--) {
        if (!w->gi[d])
            continue;
        int m = ms_gitignore_match(w->gi[d], rel + w->gi_base[d], is_dir);
        if (m >= 0)
            return m == 1;
    }
    return false;
}

/* Reads the file whole into w->buf; -1 unreadable, -2 too big. */
static long long read_whole(struct walk *w, const char *abs)
{
    int fd = open(abs, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size > w->max) {
        close(fd);
        return -2;
    }
    size_t len = 0;
    for (;;) {
        if (len + 65536 > w->cap) {
            size_t nc = w->cap ? w->cap * 2 : (size_t)1 << 20;
            while (nc < len + 65536)
                nc *= 2;
            char *nb = realloc(w->buf, nc);
            if (!nb) {
                close(fd);
                w->rc = MS_E_NOMEM;
                return -1;
            }
            w->buf = nb;
            w->cap = nc;
        }
        ssize_t got = read(fd, w->buf + len, w->cap - len - 1);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            return -1;
        }
        if (got == 0)
            break;
        len += (size_t)got;
        if (len > w->max) { /* grew while we read it, or /proc-like */
            close(fd);
            return -2;
        }
    }
    close(fd);
    return (long long)len;
}

static void scan_file(struct walk *w, const char *abs, const char *rel)
{
    ms_code_index *idx = w->idx;
    ms_code_lang lang = msi_code_lang_of(rel);
    if (lang == MS_LANG_NONE) {
        idx->stats.other_files++;
        return;
    }
    long long n = read_whole(w, abs);
    if (n == -2) {
        note_skip(w, rel, MS_SKIP_TOO_BIG);
        return;
    }
    if (n < 0) {
        if (w->rc == MS_OK)
            note_skip(w, rel, MS_SKIP_UNREADABLE);
        return;
    }
    size_t len = (size_t)n;
    w->buf[len] = '\0';
    if (memchr(w->buf, '\0', len < SNIFF ? len : SNIFF)) {
        note_skip(w, rel, MS_SKIP_BINARY);
        return;
    }
    if (msi_code_is_generated(w->buf, len, lang)) {
        note_skip(w, rel, MS_SKIP_GENERATED);
        return;
    }
    char *path = msx_arena_strndup(&idx->arena, rel, strlen(rel));
    if (!path || add_file(idx, path, lang) != MS_OK) {
        w->rc = MS_E_NOMEM;
        return;
    }
    idx->stats.files_scanned++;
    idx->stats.bytes_scanned += len;
    if (msi_detect(idx, path, lang, w->buf, len) != MS_OK)
        w->rc = MS_E_NOMEM;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks the directory abs (rel relative to the root, "" for the root). */
static void walk_dir(struct walk *w, char *abs, size_t abs_len, char *rel, size_t rel_len,
                     int depth)
{
    DIR *d = opendir(abs);
    if (!d) {
        note_skip(w, rel_len ? rel : ".", MS_SKIP_UNREADABLE);
        return;
    }
    w->idx->stats.dirs++;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                w->rc = MS_E_NOMEM;
                break;
            }
            names = nn;
            cap = nc;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            w->rc = MS_E_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_names);

    /* this folder's .gitignore */
    w->gi[depth] = NULL;
    if (!w->o->no_gitignore && abs_len + 12 < MAX_PATH) {
        memcpy(abs + abs_len, "/.gitignore", 12);
        long long gl = read_whole(w, abs);
        abs[abs_len] = '\0';
        if (gl > 0 && ms_gitignore_parse(w->buf, (size_t)gl, &w->gi[depth]) != MS_OK)
            w->rc = MS_E_NOMEM;
        w->gi_base[depth] = rel_len ? rel_len + 1 : 0;
    }

    for (size_t i = 0; i < n && w->rc == MS_OK; i++) {
        const char *name = names[i];
        size_t nl = strlen(name);
        if (abs_len + 1 + nl + 1 > MAX_PATH || rel_len + 1 + nl + 1 > MAX_PATH) {
            note_skip(w, name, MS_SKIP_UNREADABLE);
            continue;
        }
        abs[abs_len] = '/';
        memcpy(abs + abs_len + 1, name, nl + 1);
        size_t nrl = rel_len ? rel_len + 1 + nl : nl;
        if (rel_len)
            rel[rel_len] = '/';
        memcpy(rel + (rel_len ? rel_len + 1 : 0), name, nl + 1);

        struct stat lst, st;
        if (lstat(abs, &lst) != 0) {
            note_skip(w, rel, MS_SKIP_UNREADABLE);
            goto next;
        }
        st = lst;
        if (S_ISLNK(lst.st_mode) && stat(abs, &st) != 0) {
            note_skip(w, rel, errno == ELOOP ? MS_SKIP_LOOP : MS_SKIP_SPECIAL);
            goto next;
        }
        if (S_ISDIR(st.st_mode)) {
            if (is_vendored(name)) {
                note_skip(w, rel, MS_SKIP_VENDORED);
                goto next;
            }
            if (ignored(w, depth, rel, true)) {
                note_skip(w, rel, MS_SKIP_IGNORED);
                goto next;
            }
            if (!seen_add(w, st.st_dev, st.st_ino)) {
                if (w->rc == MS_OK)
                    note_skip(w, rel, MS_SKIP_LOOP);
                goto next;
            }
            if (depth + 1 > MAX_DEPTH) {
                note_skip(w, rel, MS_SKIP_UNREADABLE);
                goto next;
            }
            walk_dir(w, abs, abs_len + 1 + nl, rel, nrl, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            if (strcmp(name, ".gitignore") == 0)
                goto next;
            if (ignored(w, depth, rel, false)) {
                note_skip(w, rel, MS_SKIP_IGNORED);
                goto next;
            }
            scan_file(w, abs, rel);
        } else if (msi_code_lang_of(name) != MS_LANG_NONE) {
            note_skip(w, rel, MS_SKIP_SPECIAL);
        }
    next:
        abs[abs_len] = '\0';
        rel[rel_len] = '\0';
    }
    ms_gitignore_free(w->gi[depth]);
    w->gi[depth] = NULL;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int cmp_sites(const void *a, const void *b)
{
    const ms_code_site *x = a, *y = b;
    size_t n = x->file.len < y->file.len ? x->file.len : y->file.len;
    int c = memcmp(x->file.ptr, y->file.ptr, n);
    if (c)
        return c;
    if (x->file.len != y->file.len)
        return x->file.len < y->file.len ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->detector, y->detector);
}

MS_API ms_code ms_code_scan(const char *dir, const struct ms_code_options *o,
                            ms_code_index **out, struct ms_error *err)
{
    *out = NULL;
    struct ms_code_options def;
    if (!o) {
        ms_code_options_init(&def);
        o = &def;
    }
    struct stat st;
    int bad = stat(dir, &st) != 0 ? errno : 0;
    if (bad || !S_ISDIR(st.st_mode)) {
        err->code = MS_E_IO;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "%s: %s", dir,
                 bad ? strerror(bad) : "not a directory");
        return MS_E_IO;
    }
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    if (dl + 2 > MAX_PATH) {
        err->code = MS_E_IO;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "path too long");
        return MS_E_IO;
    }
    ms_code_index *idx = NULL;
    ms_code rc = ms_code_index_new(&idx);
    if (rc != MS_OK) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return rc;
    }
    idx->root = msx_arena_strndup(&idx->arena, dir, dl);
    char *real = realpath(dir, NULL);
    if (real) {
        idx->root_real = msx_arena_strndup(&idx->arena, real, strlen(real));
        free(real);
    }
    struct walk w = {.idx = idx, .o = o};
    w.max = o->max_file_bytes ? o->max_file_bytes : MSI_CODE_DEFAULT_MAX;
    char *abs = malloc(MAX_PATH), *rel = malloc(MAX_PATH);
    if (!abs || !rel) {
        rc = MS_E_NOMEM;
    } else {
        memcpy(abs, dir, dl);
        abs[dl] = '\0';
        rel[0] = '\0';
        seen_add(&w, st.st_dev, st.st_ino);
        walk_dir(&w, abs, dl, rel, 0, 0);
        rc = w.rc;
    }
    free(abs);
    free(rel);
    free(w.buf);
    free(w.seen);
    if (rc == MS_OK && idx->stats.dirs == 0) {
        err->code = MS_E_IO;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "%s: cannot read the directory", dir);
        ms_code_index_free(idx);
        return MS_E_IO;
    }
    if (rc != MS_OK) {
        err->code = rc;
        err->offset = -1;
        snprintf(err->msg, sizeof err->msg, "out of memory");
        ms_code_index_free(idx);
        return rc;
    }
    if (idx->n_sites > 1)
        qsort(idx->sites, idx->n_sites, sizeof *idx->sites, cmp_sites);
    *out = idx;
    return MS_OK;
}
