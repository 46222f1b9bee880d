/* mod_gramex_splice: insert generated config lines into the config stream
 * being read, right after the directive that generated them (the technique
 * of httpd's mod_macro). Used by EXEC_ON_READ directives to define mod_proxy
 * workers and balancers in Apache's own syntax, inside the same
 * <VirtualHost>, so mod_proxy sets them up exactly as if the admin had
 * written them. */
#include "mod_gramex.h"
#include "http_core.h"
#include "util_cfgtree.h"
#include <apr_strings.h>

typedef struct {
    cmd_parms *cmd;
    apr_array_header_t *lines;      /* const char *, each ending in "\n" */
    int line;
    apr_size_t pos;                 /* for getch */
    ap_configfile_t *next;          /* the stream we interrupted */
} splice_stream;

/* Our lines are done: later lines come from the interrupted file again,
 * with its own line numbers. */
static ap_configfile_t *resume(splice_stream *s)
{
    s->cmd->config_file = s->next;
    s->next->line_number++;         /* the line read through us belongs to it */
    return s->next;
}

static apr_status_t splice_getstr(void *buf, apr_size_t bufsiz, void *param)
{
    splice_stream *s = param;
    ap_configfile_t *next;
    if (s->line < s->lines->nelts) {
        apr_cpystrn(buf, APR_ARRAY_IDX(s->lines, s->line, const char *), bufsiz);
        s->line++;
        s->pos = 0;
        return APR_SUCCESS;
    }
    next = resume(s);
    return next->getstr ? next->getstr(buf, bufsiz, next->param) : APR_EOF;
}

static apr_status_t splice_getch(char *ch, void *param)
{
    splice_stream *s = param;
    ap_configfile_t *next;
    while (s->line < s->lines->nelts) {
        const char *l = APR_ARRAY_IDX(s->lines, s->line, const char *);
        if (l[s->pos]) {
            *ch = l[s->pos++];
            return APR_SUCCESS;
        }
        s->line++;
        s->pos = 0;
    }
    next = resume(s);
    return next->getch ? next->getch(ch, next->param) : APR_EOF;
}

static apr_status_t splice_close(void *param)
{
    (void)param;
    return APR_SUCCESS;     /* the interrupted file is closed by its opener */
}

void gx_splice_config(cmd_parms *cmd, const char *name, apr_array_header_t *lines)
{
    splice_stream *s;
    int i;
    if (!lines->nelts)
        return;
    s = apr_pcalloc(cmd->temp_pool, sizeof(*s));
    s->cmd = cmd;
    s->next = cmd->config_file;
    s->lines = apr_array_make(cmd->temp_pool, lines->nelts, sizeof(const char *));
    for (i = 0; i < lines->nelts; i++)
        APR_ARRAY_PUSH(s->lines, const char *) =
            apr_pstrcat(cmd->temp_pool, APR_ARRAY_IDX(lines, i, const char *), "\n", NULL);
    cmd->config_file = ap_pcfg_open_custom(cmd->temp_pool, name, s, splice_getch,
                                           splice_getstr, splice_close);
}

/* ---- config lines for a server after the config is read -----------------
 * At check_config there is no stream to splice into: the lines are built
 * into a tree and processed for server s, as httpd processes its own. */

typedef struct {
    const apr_array_header_t *lines;
    int next;
} line_reader;

static apr_status_t read_line(void *buf, apr_size_t bufsiz, void *param)
{
    line_reader *lr = param;
    if (lr->next >= lr->lines->nelts)
        return APR_EOF;
    apr_cpystrn(buf, APR_ARRAY_IDX(lr->lines, lr->next++, const char *), bufsiz);
    return APR_SUCCESS;
}

static apr_status_t read_char(char *ch, void *param)
{
    (void)ch; (void)param;
    return APR_EOF;     /* ap_build_config reads whole lines */
}

const char *gx_process_config_lines(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                    const char *name, const apr_array_header_t *lines)
{
    line_reader lr = {lines, 0};
    ap_directive_t *tree = NULL;
    cmd_parms parms;
    const char *err;
    memset(&parms, 0, sizeof(parms));
    parms.limited = -1;
    parms.server = s;
    parms.pool = pconf;
    parms.temp_pool = ptemp;
    parms.override = (RSRC_CONF | OR_ALL) & ~(OR_AUTHCFG | OR_LIMIT);
    parms.override_opts = OPT_ALL | OPT_SYM_OWNER | OPT_MULTI;
    parms.config_file = ap_pcfg_open_custom(ptemp, name, &lr, read_char, read_line, splice_close);
    err = ap_build_config(&parms, pconf, ptemp, &tree);
    if (!err && ap_process_config_tree(s, tree, pconf, ptemp) != OK)
        err = "httpd refused the lines (see the message above)";
    return err;
}
