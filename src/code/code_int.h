/* SPDX-License-Identifier: MIT
 *
 * code_int.h - internals shared by src/code/: the index the walk fills
 * (scan.c), the detector table (detect.c) and the joins (link.c). Only
 * detect.c sees pcre2.h.
 */
#ifndef MSI_CODE_INT_H
#define MSI_CODE_INT_H

#include "mlsession/code.h"
#include "util/arena.h"

#define MSI_CODE_MAX_SKIPPED 100
#define MSI_CODE_DEFAULT_MAX ((uint64_t)4 << 20)

struct msi_code_file {
    const char *path; /* relative, arena */
    ms_code_lang lang;
};

struct msi_code_skipped {
    const char *path;
    ms_code_skip why;
};

struct ms_code_index {
    struct msx_arena arena;
    ms_code_site *sites;
    size_t n_sites, cap_sites;
    struct msi_code_file *files;
    size_t n_files, cap_files;
    struct msi_code_skipped skipped[MSI_CODE_MAX_SKIPPED];
    size_t n_skipped;
    ms_code_stats stats;
    const char *root;      /* the scanned root as given, arena; NULL for buffers */
    const char *root_real; /* its realpath, arena; NULL for buffers */
    void *detectors;       /* compiled detector table (detect.c) */
    bool borrowed_detectors; /* a scratch index sharing another's table */
    bool with_functions;   /* run the function-definition detectors too: they
                              match every function, so a tree scan leaves them
                              to link.c, for the files a frame points at */
};

/* detect.c */
ms_code_lang msi_code_lang_of(const char *name);
void *msi_detectors_new(void);
void msi_detectors_free(void *d);
/* Appends the sites of one file's text; MS_E_NOMEM only. */
ms_code msi_detect(ms_code_index *idx, const char *path, ms_code_lang lang, const char *buf,
                   size_t len);
/* Only the function-definition detectors. */
ms_code msi_detect_functions(ms_code_index *idx, const char *path, ms_code_lang lang,
                             const char *buf, size_t len);
/* Is the text generated (header markers) or minified? */
bool msi_code_is_generated(const char *buf, size_t len, ms_code_lang lang);

/* One frame of a recorded stack trace. */
struct msi_frame {
    char file[1024]; /* as recorded (Java: package path + file name) */
    int64_t line;
    char func[256];
    char source[256]; /* the source line when the trace shows it (Python) */
};
/* Parses the frames of a stack trace (Python, Java, Node, Go), in recorded
 * order, at most max. */
size_t msi_parse_frames(void *detectors, const char *text, size_t len, struct msi_frame *out,
                        size_t max);

/* scan.c */
ms_code msi_code_add_site(ms_code_index *idx, const ms_code_site *s);

#endif
