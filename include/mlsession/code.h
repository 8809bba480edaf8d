/* SPDX-License-Identifier: MIT
 *
 * code.h - links sessions and findings to the application's source code.
 *
 * ms_code_scan() walks a source tree (Python, TypeScript/JavaScript, Java,
 * Go), honouring .gitignore files and skipping binary, vendored, generated
 * and oversized files, and runs a table of detectors over every file: where
 * the session id is set, context-window code (history trimming, token
 * counting, max_tokens), memory and state (session stores, caches,
 * conversation buffers, vector-store writes), span and tool definitions,
 * and function definitions. ms_code_link() joins those sites with one
 * session: its findings, its span and tool names, and every frame of every
 * exception event. Each link carries file:line, the source line and a
 * confidence with the reason for it; nothing is guessed without saying so.
 * docs/correlate.md describes the detectors and the confidence levels.
 *
 * Deterministic: files are visited in byte order of their paths, links are
 * sorted, no clock. The library never prints.
 */
#ifndef MLSESSION_CODE_H
#define MLSESSION_CODE_H

#include <stdbool.h>
#include <stdint.h>

#include "mlsession/analyze.h"
#include "mlsession/session.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a code site or a link is about. Append only. */
typedef enum ms_code_kind {
    MS_CODE_SESSION_ID = 1, /* the app sets (or should set) the session id */
    MS_CODE_CONTEXT = 2,    /* history trimming, windowing, summaries, token counts, max_tokens */
    MS_CODE_MEMORY = 3,     /* session stores, caches, conversation buffers, vector-store writes */
    MS_CODE_SPAN = 4,       /* a span name is defined here */
    MS_CODE_TOOL = 5,       /* a tool is defined or registered here */
    MS_CODE_FRAME = 6,      /* a stack frame of a recorded exception (links only) */
    MS_CODE_FUNCTION = 7,   /* a function definition (sites only; used to check frames) */
} ms_code_kind;

typedef enum ms_code_lang {
    MS_LANG_NONE = 0,
    MS_LANG_PYTHON = 1,
    MS_LANG_JS = 2, /* JavaScript and TypeScript */
    MS_LANG_JAVA = 3,
    MS_LANG_GO = 4,
} ms_code_lang;

typedef enum ms_confidence {
    MS_CONF_LOW = 0,    /* a plausible site; the reason says what is guessed */
    MS_CONF_MEDIUM = 1, /* the right kind of code, not tied by name */
    MS_CONF_HIGH = 2,   /* tied by an exact name, path or recorded source line */
} ms_confidence;

/* One detector hit. Strings borrow from the index. */
typedef struct ms_code_site {
    ms_code_kind kind;
    const char *detector; /* static: "py.mlflow_trace_name", ... (docs/correlate.md) */
    const char *what;     /* static, one phrase: "span name in @mlflow.trace" */
    ms_code_lang lang;
    ms_str file;          /* relative to the scanned root, '/'-separated */
    int64_t line;         /* from 1 */
    ms_str text;          /* the source line, trimmed, at most 200 bytes */
    ms_str name;          /* the span, tool or function named; {NULL,0} if none */
} ms_code_site;

struct ms_code_options {
    int version;             /* 1 */
    uint64_t max_file_bytes; /* larger files are skipped and noted; 0 = 4 MiB */
    bool no_gitignore;       /* scan files .gitignore excludes too */
};
MS_API void ms_code_options_init(struct ms_code_options *o);

/* Why a file was left out. */
typedef enum ms_code_skip {
    MS_SKIP_IGNORED = 1,    /* .gitignore */
    MS_SKIP_VENDORED = 2,   /* node_modules, vendor, venv, dist, build, ... */
    MS_SKIP_GENERATED = 3,  /* "Code generated ... DO NOT EDIT", @generated, minified */
    MS_SKIP_BINARY = 4,     /* a NUL byte in the first 8 KiB */
    MS_SKIP_TOO_BIG = 5,    /* over max_file_bytes */
    MS_SKIP_UNREADABLE = 6, /* open or read failed */
    MS_SKIP_LOOP = 7,       /* a symlink back into a directory already walked */
    MS_SKIP_SPECIAL = 8,    /* not a regular file: FIFO, socket, device, broken link */
} ms_code_skip;

typedef struct ms_code_stats {
    uint64_t files_scanned; /* source files read and searched */
    uint64_t bytes_scanned;
    uint64_t dirs;
    uint64_t other_files;   /* regular files in no supported language */
    uint64_t skipped[9];    /* indexed by ms_code_skip */
} ms_code_stats;

typedef struct ms_code_index ms_code_index;

/* Scans dir. Files are read whole (up to max_file_bytes); a symlink is
 * followed unless it leads into a directory already walked. Unreadable
 * entries are counted, never fatal: MS_E_IO only when dir itself cannot be
 * read. Returns a new index; free with ms_code_index_free(). */
MS_API ms_code ms_code_scan(const char *dir, const struct ms_code_options *o,
                            ms_code_index **out, struct ms_error *err);
MS_API void ms_code_index_free(ms_code_index *idx); /* NULL ok */
MS_API const ms_code_stats *ms_code_index_stats(const ms_code_index *idx);
/* Sites sorted by file and line. Borrowed. */
MS_API size_t ms_code_site_count(const ms_code_index *idx);
MS_API const ms_code_site *ms_code_site_at(const ms_code_index *idx, size_t i);
/* Skipped files worth naming (all but ignored/vendored): the first 100.
 * Borrowed. */
MS_API size_t ms_code_skipped_count(const ms_code_index *idx);
MS_API const char *ms_code_skipped_path(const ms_code_index *idx, size_t i, ms_code_skip *why);

/* Runs the detectors over one buffer as if it were the file `name` (its
 * extension picks the language), appending sites to idx. For tests and
 * fuzzing; ms_code_scan() uses the same path. */
MS_API ms_code ms_code_index_new(ms_code_index **out);
MS_API ms_code ms_code_scan_buffer(ms_code_index *idx, const char *name, const char *buf,
                                   size_t len, struct ms_error *err);

/* A .gitignore matcher on its own (for tests and fuzzing): rules from
 * text, then paths relative to the file's folder. */
typedef struct ms_gitignore ms_gitignore;
MS_API ms_code ms_gitignore_parse(const char *text, size_t len, ms_gitignore **out);
MS_API void ms_gitignore_free(ms_gitignore *g); /* NULL ok */
/* 1 ignored, 0 re-included by a negation, -1 no rule matched. */
MS_API int ms_gitignore_match(const ms_gitignore *g, const char *path, bool is_dir);

/* ---- links ---------------------------------------------------------- */

typedef struct ms_code_ref {
    ms_code_kind kind;
    int64_t finding;          /* index into the findings, -1 if none */
    int64_t turn;             /* from 1; 0 for the whole session */
    ms_str span_id;           /* the span linked, {NULL,0} if none */
    ms_str subject;           /* what is linked: span or tool name, "frame 3/5 in f", ... */
    ms_str file;              /* relative to the scanned root; {NULL,0} for a gap */
    int64_t line;             /* 0 for a gap */
    ms_str text;              /* the source line */
    ms_confidence confidence;
    ms_str reason;            /* one line: why this link, what is guessed */
    const char *detector;     /* static; "frame" for frames, "gap" for gaps */
    int64_t frame;            /* frames: its position in the recorded trace, from 1; else 0 */
} ms_code_ref;

typedef struct ms_code_links ms_code_links;

/* Links one session to the code: findings (may be NULL) of that session,
 * its spans and tools, every frame of every exception event, and where its
 * session id is (or is not) set. Sorted: by finding (session-wide links,
 * finding -1, last), kind, turn, file, line. Strings are copied: the links
 * outlive the session and the index. Free with ms_code_links_free(). */
MS_API ms_code ms_code_link(const ms_code_index *idx, const ms_session *s,
                            const ms_findings *findings, ms_code_links **out,
                            struct ms_error *err);
/* The gap: traces that record no session id at all (borrowed, with
 * spans). Each distinct root span name is linked to its definition, with a
 * gap link saying how many traces of it carry no session id and where the
 * code does set one. Sorted and freed as above. */
MS_API ms_code ms_code_link_unsessioned(const ms_code_index *idx, const ms_trace *const *traces,
                                        size_t n, ms_code_links **out, struct ms_error *err);
MS_API void ms_code_links_free(ms_code_links *l); /* NULL ok */
MS_API size_t ms_code_links_count(const ms_code_links *l);
MS_API const ms_code_ref *ms_code_links_at(const ms_code_links *l, size_t i);
/* Frames seen in exception events, and how many were linked to a file. */
MS_API size_t ms_code_links_frames(const ms_code_links *l, size_t *linked);

MS_API const char *ms_code_kind_name(ms_code_kind k);     /* "session_id", "context", ... */
MS_API const char *ms_confidence_name(ms_confidence c);   /* "low", "medium", "high" */
MS_API const char *ms_code_skip_name(ms_code_skip s);     /* "ignored", "binary", ... */

/* A link as one compact JSON object (docs/correlate.md, "JSON form"); new
 * buffer, free with free(). */
MS_API ms_code ms_code_link_to_json(const ms_code_ref *k, char **out, size_t *len);

/* The links of one finding (finding >= 0) or the session-wide ones
 * (finding == -1) as text lines for a report beside the finding:
 *   "code: app.py:317  raise exc  [frame, high: ...]"
 * each line starts with indent; md != 0 writes Markdown list items with
 * escaping. Untrusted text (source lines, names) is escaped for a
 * terminal. New buffer (possibly empty, never NULL on MS_OK); free with
 * free(). */
MS_API ms_code ms_code_links_format(const ms_code_links *l, int64_t finding, const char *indent,
                                    int md, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
