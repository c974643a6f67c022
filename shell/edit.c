/* edit.c: the terminal side of ipcsh's interactive loop, on libedit's own
 * interface: the character reader (which waits on the terminal, SIGINT and
 * the descriptors of the event sources), events printed above the line
 * being typed, Tab completion through the prelude, and the history file.
 * The Lua half (what to complete, which descriptors, what to print) is in
 * complete.lua and events.lua. */
#include "repl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <histedit.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#define IPCSH_HISTORY_MAX 1000
#define IPCSH_HISTORY_FILE ".ipcsh_history"
#define IPCSH_EVENT_FDS 64  /* descriptors of event sources watched at most */
#define IPCSH_LIST_MAX 200  /* completions listed at most */
#define IPCSH_MATCHES 10000 /* file names gathered at most */

struct ipcsh_edit {
  EditLine *el;
  History *hist;
  lua_State *L;
  const char *prompt; /* of the line being read */
  cc_t intr, susp;    /* the terminal's Ctrl-C and Ctrl-Z keys */
  int events_broken;  /* the event hooks failed: no more events */
  int history_failed; /* the file could not be written (said once) */
  struct sigaction oldwinch;
  char histpath[PATH_MAX]; /* "" when there is no history file */
};

/* The terminal changed size (SIGWINCH); the reader tells libedit. */
static volatile sig_atomic_t resized = 0;

static void aux_sigwinch(int sig) {
  (void)sig;
  resized = 1;
}

static ipcsh_edit *aux_self(EditLine *el) {
  ipcsh_edit *ed = NULL;
  el_get(el, EL_CLIENTDATA, &ed);
  return ed;
}

/* ------------------------------------------------------------ geometry
 *
 * To print above the line being typed, the cursor first goes back to where
 * the prompt starts. libedit knows that row but does not tell, so it is
 * worked out the way libedit lays the line out (refresh.c): characters of
 * wcwidth columns, a newline starts a row, a tab goes to the next multiple
 * of 8, other control characters show as ^X, and a row that fills up
 * wraps at once. */

static int aux_columns(EditLine *el) {
  int co = 0;
  if (el_get(el, EL_GETTC, "co", &co) != 0 || co <= 0)
    co = 80;
  return co;
}

/* Lays out n wide characters from (*row, *col) on a terminal cols wide. */
static void aux_layout(const wchar_t *s, size_t n, int cols, int *row,
                       int *col) {
  for (size_t i = 0; i < n; i++) {
    int w;
    if (s[i] == L'\n') {
      (*row)++;
      *col = 0;
      continue;
    }
    if (s[i] == L'\t')
      w = 8 - *col % 8;
    else if ((w = wcwidth(s[i])) < 0)
      w = 2; /* ^X */
    if (*col + w > cols) {
      (*row)++;
      *col = 0;
    }
    *col += w;
    if (*col >= cols) {
      (*row)++;
      *col = 0;
    }
  }
}

/* The row, counted from the prompt's, of the cursor (at_end: of the end of
 * the line). */
static int aux_row(ipcsh_edit *ed, int at_end) {
  const LineInfoW *li = el_wline(ed->el);
  int cols = aux_columns(ed->el), row = 0, col = 0;
  wchar_t wprompt[256];
  size_t np = mbstowcs(wprompt, ed->prompt, 255);
  if (np != (size_t)-1)
    aux_layout(wprompt, np, cols, &row, &col);
  aux_layout(li->buffer,
             (size_t)((at_end ? li->lastchar : li->cursor) - li->buffer), cols,
             &row, &col);
  return row;
}

/* Clears the prompt and the line being typed, leaving the cursor where the
 * prompt started. */
static void aux_erase(ipcsh_edit *ed) {
  int row = aux_row(ed, 0);
  fputc('\r', stdout);
  if (row > 0)
    fprintf(stdout, "\033[%dA", row);
  fputs("\033[J", stdout);
  fflush(stdout);
}

/* Moves the cursor to a new line below the line being typed. */
static void aux_below(ipcsh_edit *ed) {
  int down = aux_row(ed, 1) - aux_row(ed, 0);
  if (down > 0)
    fprintf(stdout, "\033[%dB", down);
  fputs("\r\n", stdout);
}

/* Prints text (a newline is added if it lacks one) where the cursor is, at
 * the start of a line, then has libedit draw the prompt and the line again
 * below it. */
static void aux_redraw(ipcsh_edit *ed, const char *text, size_t len) {
  if (len > 0) {
    fwrite(text, 1, len, stdout);
    if (text[len - 1] != '\n')
      fputc('\n', stdout);
  }
  fflush(stdout);
  el_set(ed->el, EL_REFRESH);
}

/* -------------------------------------------------------------- events */

/* Fills pfd with the descriptors the event sources want watched
 * (events.lua). Returns how many; *urgent is set when a source has
 * something to say without a descriptor. -1 when the hook failed: the
 * message is on the stack. */
static int aux_event_fds(lua_State *L, struct pollfd *pfd, int max,
                         int *urgent) {
  int n = 0;
  *urgent = 0;
  if (ipcsh_hook(L, "event_fds", 0, 2) != LUA_OK)
    return -1;
  *urgent = lua_toboolean(L, -1);
  if (lua_istable(L, -2)) {
    for (int i = 1; n < max; i++) {
      lua_rawgeti(L, -2, i);
      if (!lua_isnumber(L, -1)) {
        lua_pop(L, 1);
        break;
      }
      pfd[n].fd = (int)lua_tointeger(L, -1);
      pfd[n].events = POLLIN;
      pfd[n].revents = 0;
      n++;
      lua_pop(L, 1);
    }
  }
  lua_pop(L, 2);
  return n;
}

/* Has the event sources serve the ready descriptors among pfd[0..n-1].
 * Leaves what they report to print (a string, possibly empty) or the
 * message of a failed hook on the stack; returns the hook's status. */
static int aux_event_fire(lua_State *L, const struct pollfd *pfd, int n) {
  int k = 0;
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    if (pfd[i].revents != 0) {
      lua_pushinteger(L, pfd[i].fd);
      lua_rawseti(L, -2, ++k);
    }
  }
  int status = ipcsh_hook(L, "event_fire", 1, 1);
  if (status == LUA_OK && !lua_isstring(L, -1)) {
    lua_pop(L, 1);
    lua_pushliteral(L, "");
  }
  return status;
}

void ipcsh_events_drain(lua_State *L) {
  struct pollfd pfd[IPCSH_EVENT_FDS];
  int urgent;
  int n = aux_event_fds(L, pfd, IPCSH_EVENT_FDS, &urgent);
  if (n < 0) {
    ipcsh_report(L, LUA_ERRRUN, IPCSH_PROGNAME);
    return;
  }
  int ready = n > 0 ? poll(pfd, (nfds_t)n, 0) : 0;
  if (ready <= 0 && !urgent)
    return;
  int status = aux_event_fire(L, pfd, ready > 0 ? n : 0);
  if (status != LUA_OK) {
    ipcsh_report(L, status, IPCSH_PROGNAME);
    return;
  }
  size_t len;
  const char *text = lua_tolstring(L, -1, &len);
  if (len > 0) {
    fwrite(text, 1, len, stdout);
    if (text[len - 1] != '\n')
      fputc('\n', stdout);
    fflush(stdout);
  }
  lua_pop(L, 1);
}

/* Serves ready event sources while a line is being typed: the line is
 * cleared, the sources run as code at the prompt does (Ctrl-C sends SIGINT
 * again, which is unblocked: a Lua callback can be interrupted) and
 * whatever they print or report lands where the line was, then the line is
 * drawn again below. */
static void aux_events_above(ipcsh_edit *ed, const struct pollfd *pfd, int n,
                             const sigset_t *open) {
  lua_State *L = ed->L;
  sigset_t blocked;
  struct termios t, running;
  int restore = tcgetattr(STDIN_FILENO, &t) == 0;
  aux_erase(ed);
  if (restore) {
    running = t;
    running.c_lflag |= ISIG;
    tcsetattr(STDIN_FILENO, TCSANOW, &running);
  }
  sigprocmask(SIG_SETMASK, open, &blocked);
  int status = aux_event_fire(L, pfd, n);
  sigprocmask(SIG_SETMASK, &blocked, NULL);
  if (restore)
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  size_t len;
  const char *text = lua_tolstring(L, -1, &len);
  if (status != LUA_OK) {
    fprintf(stdout, "%s: events: %s\n", IPCSH_PROGNAME, text);
    len = 0;
  }
  aux_redraw(ed, text, len);
  lua_pop(L, 1);
}

/* ------------------------------------------------------ reading a key */

/* Ctrl-Z at the prompt: stops the shell (and its children, which share its
 * process group) as the terminal would; once continued, the terminal may
 * have been set otherwise: libedit takes its settings again and redraws. */
static void aux_suspend(ipcsh_edit *ed) {
  kill(0, SIGTSTP);
  el_set(ed->el, EL_PREP_TERM, 0);
  el_set(ed->el, EL_PREP_TERM, 1);
  fputs("\r\n", stdout);
  aux_redraw(ed, "", 0);
}

/* EL_GETCFN: one character from the terminal. It waits in ppoll on the
 * terminal and on the event sources, with SIGINT and SIGWINCH unblocked only
 * there, so neither is missed between the check and the wait. Ctrl-C comes
 * as a key (the terminal sends no SIGINT at the prompt, so that children in
 * the shell's process group do not get it for a line cancelled) or, when
 * something else set the terminal, as SIGINT; either way it returns
 * newlines (which end the line whatever the editing mode) until el_gets
 * returns; the caller then sees the flag and discards the line. Multibyte
 * characters are decoded here because libedit takes our result as one wide
 * character. Returns 1, 0 at end of file, -1 on an error. */
static int aux_getc(EditLine *el, wchar_t *wc) {
  ipcsh_edit *ed = aux_self(el);
  char buf[MB_LEN_MAX];
  size_t n = 0;
  int rc = 0;
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGWINCH);
  sigprocmask(SIG_BLOCK, &block, &old);
  for (;;) {
    struct pollfd pfd[1 + IPCSH_EVENT_FDS];
    int nfd = 0, urgent = 0;
    mbstate_t mbs;
    size_t r;
    ssize_t got;
    if (ipcsh_interrupt_pending()) {
      *wc = L'\n';
      rc = 1;
      break;
    }
    if (resized) {
      resized = 0;
      el_resize(el);
    }
    pfd[0].fd = STDIN_FILENO;
    pfd[0].events = POLLIN;
    pfd[0].revents = 0;
    if (!ed->events_broken && n == 0) {
      nfd = aux_event_fds(ed->L, pfd + 1, IPCSH_EVENT_FDS, &urgent);
      if (nfd < 0) {
        /* A bug in events.lua: say it once, then go on without events. */
        size_t len;
        const char *msg = lua_tolstring(ed->L, -1, &len);
        ed->events_broken = 1;
        aux_erase(ed);
        fprintf(stdout, "%s: events are off: %s\n", IPCSH_PROGNAME, msg);
        aux_redraw(ed, "", 0);
        lua_pop(ed->L, 1);
        nfd = 0;
      }
    }
    if (urgent) {
      aux_events_above(ed, pfd + 1, 0, &old);
      continue;
    }
    if (ppoll(pfd, (nfds_t)(1 + nfd), NULL, &old) < 0) {
      if (errno == EINTR)
        continue;
      rc = -1;
      break;
    }
    for (int i = 1; i <= nfd; i++) {
      if (pfd[i].revents != 0) {
        aux_events_above(ed, pfd + 1, nfd, &old);
        break;
      }
    }
    if (pfd[0].revents == 0)
      continue;
    got = read(STDIN_FILENO, buf + n, 1);
    if (got < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    if (got != 1) {
      rc = got == 0 ? 0 : -1; /* end of file, or a terminal that went away */
      break;
    }
    if (n == 0 && ed->intr != _POSIX_VDISABLE && (cc_t)buf[0] == ed->intr) {
      ipcsh_interrupt_key();
      continue;
    }
    if (n == 0 && ed->susp != _POSIX_VDISABLE && (cc_t)buf[0] == ed->susp) {
      aux_suspend(ed);
      continue;
    }
    n++;
    memset(&mbs, 0, sizeof mbs);
    r = mbrtowc(wc, buf, n, &mbs);
    if (r == (size_t)-2 && n < sizeof buf)
      continue; /* an incomplete sequence: read on */
    /* A bad sequence (or a locale without multibyte characters) gives
     * its first byte as it is. */
    if (r == (size_t)-1 || r == (size_t)-2)
      *wc = (wchar_t)(unsigned char)buf[0];
    rc = 1;
    break;
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
  return rc;
}

/* ---------------------------------------------------------- completion */

/* The number of characters in the first n bytes of s. */
static int aux_nchars(const char *s, size_t n) {
  mbstate_t mbs;
  int count = 0;
  memset(&mbs, 0, sizeof mbs);
  while (n > 0) {
    size_t r = mbrtowc(NULL, s, n, &mbs);
    if (r == (size_t)-1 || r == (size_t)-2) {
      r = 1; /* a stray byte counts as one, as the reader gave it */
      memset(&mbs, 0, sizeof mbs);
    } else if (r == 0) {
      r = 1;
    }
    s += r;
    n -= r;
    count++;
  }
  return count;
}

/* What a completion offers: the text that replaces the word, and what the
 * list shows for it. */
typedef struct match {
  char *text;
  char *shown;
} match_t;

typedef struct matches {
  match_t *v;
  size_t n, cap;
} matches_t;

static int aux_addmatch(matches_t *m, const char *text, const char *shown) {
  if (m->n == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 32;
    match_t *v = realloc(m->v, cap * sizeof *v);
    if (v == NULL)
      return -1;
    m->v = v;
    m->cap = cap;
  }
  m->v[m->n].text = strdup(text);
  m->v[m->n].shown = strdup(shown);
  if (m->v[m->n].text == NULL || m->v[m->n].shown == NULL) {
    free(m->v[m->n].text);
    free(m->v[m->n].shown);
    return -1;
  }
  m->n++;
  return 0;
}

static void aux_freematches(matches_t *m) {
  for (size_t i = 0; i < m->n; i++) {
    free(m->v[i].text);
    free(m->v[i].shown);
  }
  free(m->v);
}

static int aux_matchcmp(const void *a, const void *b) {
  return strcmp(((const match_t *)a)->text, ((const match_t *)b)->text);
}

/* The files whose path starts with word (the text of a string literal up
 * to the cursor): directories end with '/'; a leading "~/" is the home
 * directory. Hidden files only when the name typed starts with a dot. */
static void aux_files(const char *word, size_t len, matches_t *m) {
  char dir[PATH_MAX], path[PATH_MAX];
  const char *slash = memrchr(word, '/', len);
  const char *base = slash ? slash + 1 : word;
  size_t dlen = slash ? (size_t)(slash - word) + 1 : 0; /* with the '/' */
  size_t blen = len - dlen;
  const char *home = getenv("HOME");
  int n;
  if (dlen == 0)
    n = snprintf(dir, sizeof dir, ".");
  else if (dlen >= 2 && word[0] == '~' && word[1] == '/' && home != NULL)
    n = snprintf(dir, sizeof dir, "%s/%.*s", home, (int)(dlen - 2), word + 2);
  else
    n = snprintf(dir, sizeof dir, "%.*s", (int)dlen, word);
  if (n < 0 || (size_t)n >= sizeof dir)
    return;
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL && m->n < IPCSH_MATCHES) {
    struct stat st;
    if (strncmp(e->d_name, base, blen) != 0)
      continue;
    if (e->d_name[0] == '.' && (blen == 0 || base[0] != '.'))
      continue;
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    int isdir = 0;
    n = snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (n > 0 && (size_t)n < sizeof path && stat(path, &st) == 0)
      isdir = S_ISDIR(st.st_mode);
    n = snprintf(path, sizeof path, "%.*s%s%s", (int)dlen, word, e->d_name,
                 isdir ? "/" : "");
    if (n < 0 || (size_t)n >= sizeof path)
      continue;
    if (aux_addmatch(m, path, path + dlen) != 0)
      break;
  }
  closedir(d);
  qsort(m->v, m->n, sizeof *m->v, aux_matchcmp);
}

/* Asks complete.lua what completes the text before the cursor. It returns
 * "lua", the length of the word, and the names that can replace it; or
 * "file" and the length of a path inside a string literal. Fills m and
 * returns the word's length in bytes, or -1 when nothing applies. */
static int aux_candidates(ipcsh_edit *ed, const char *before, size_t len,
                          matches_t *m) {
  lua_State *L = ed->L;
  int wordlen = -1;
  lua_pushlstring(L, before, len);
  if (ipcsh_hook(L, "complete", 1, 3) != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    aux_erase(ed);
    fprintf(stdout, "%s: completion: %s\n", IPCSH_PROGNAME,
            msg ? msg : "(no message)");
    aux_redraw(ed, "", 0);
    lua_pop(L, 1);
    return -1;
  }
  const char *kind = lua_tostring(L, -3);
  lua_Integer n = lua_tointeger(L, -2);
  if (kind != NULL && n >= 0 && (size_t)n <= len) {
    wordlen = (int)n;
    if (strcmp(kind, "file") == 0) {
      aux_files(before + len - n, (size_t)n, m);
    } else if (lua_istable(L, -1)) {
      for (int i = 1;; i++) {
        lua_rawgeti(L, -1, i);
        const char *s = lua_tostring(L, -1);
        if (s == NULL || aux_addmatch(m, s, s) != 0) {
          lua_pop(L, 1);
          break;
        }
        lua_pop(L, 1);
      }
    }
  }
  lua_pop(L, 3);
  return wordlen;
}

/* Prints the matches in columns, down then across as ls does. */
static void aux_list(ipcsh_edit *ed, const matches_t *m) {
  size_t shown = m->n > IPCSH_LIST_MAX ? IPCSH_LIST_MAX : m->n;
  size_t width = 0;
  for (size_t i = 0; i < shown; i++) {
    size_t w = strlen(m->v[i].shown);
    if (w > width)
      width = w;
  }
  width += 2;
  size_t cols = (size_t)aux_columns(ed->el) / width;
  if (cols == 0)
    cols = 1;
  size_t rows = (shown + cols - 1) / cols;
  aux_below(ed);
  for (size_t r = 0; r < rows; r++) {
    for (size_t c = 0; c < cols; c++) {
      size_t i = c * rows + r;
      if (i >= shown)
        break;
      if (c + 1 == cols || i + rows >= shown) /* the last of the row */
        fputs(m->v[i].shown, stdout);
      else
        fprintf(stdout, "%-*s", (int)width, m->v[i].shown);
    }
    fputc('\n', stdout);
  }
  if (shown < m->n)
    fprintf(stdout, "... and %zu more\n", m->n - shown);
  aux_redraw(ed, "", 0);
}

/* Replaces the wordlen bytes before the cursor with text. */
static void aux_replace(EditLine *el, const char *word, size_t wordlen,
                        const char *text) {
  el_deletestr(el, aux_nchars(word, wordlen));
  el_insertstr(el, text);
}

/* Tab: completes the word before the cursor with the only match, or with
 * what all matches share; when that adds nothing, lists them. At the start
 * of a line (or after blanks) it indents instead. */
static unsigned char aux_complete(EditLine *el, int ch) {
  ipcsh_edit *ed = aux_self(el);
  const LineInfo *li = el_line(el);
  size_t len = (size_t)(li->cursor - li->buffer);
  char *before = strndup(li->buffer, len);
  matches_t m = {NULL, 0, 0};
  unsigned char cc = CC_REFRESH_BEEP;
  (void)ch;
  if (before == NULL)
    return CC_ERROR;
  if (before[strspn(before, " \t")] == '\0') {
    el_insertstr(el, "  ");
    free(before);
    return CC_REFRESH;
  }
  int wordlen = aux_candidates(ed, before, len, &m);
  const char *word = before + len - (wordlen > 0 ? wordlen : 0);
  if (wordlen >= 0 && m.n == 1) {
    aux_replace(el, word, (size_t)wordlen, m.v[0].text);
    cc = CC_REFRESH;
  } else if (wordlen >= 0 && m.n > 1) {
    size_t common = strlen(m.v[0].text);
    for (size_t i = 1; i < m.n; i++) {
      size_t k = 0;
      while (k < common && m.v[i].text[k] == m.v[0].text[k])
        k++;
      common = k;
    }
    if (common > (size_t)wordlen) {
      m.v[0].text[common] = '\0';
      aux_replace(el, word, (size_t)wordlen, m.v[0].text);
      cc = CC_REFRESH;
    } else {
      aux_list(ed, &m);
      cc = CC_NORM;
    }
  }
  aux_freematches(&m);
  free(before);
  return cc;
}

/* ------------------------------------------------------------- history */

/* Where the history lives: $IPCSH_HISTORY (empty: no history), else
 * ~/.ipcsh_history. Loads it. */
static void aux_history_open(ipcsh_edit *ed) {
  const char *env = getenv("IPCSH_HISTORY");
  const char *home = getenv("HOME");
  HistEvent ev;
  int len = -1;
  ed->histpath[0] = '\0';
  if (env != NULL)
    len = snprintf(ed->histpath, sizeof ed->histpath, "%s", env);
  else if (home != NULL && home[0] != '\0')
    len = snprintf(ed->histpath, sizeof ed->histpath, "%s/%s", home,
                   IPCSH_HISTORY_FILE);
  if (len < 0 || (size_t)len >= sizeof ed->histpath)
    ed->histpath[0] = '\0';
  history(ed->hist, &ev, H_SETSIZE, IPCSH_HISTORY_MAX);
  history(ed->hist, &ev, H_SETUNIQUE, 1); /* no entry twice in a row */
  if (ed->histpath[0] != '\0')
    history(ed->hist, &ev, H_LOAD, ed->histpath); /* none yet: empty */
}

/* Writes the file after each command, so that os.exit() or a crash loses
 * nothing. A new file is private: history can hold secrets. */
void ipcsh_edit_remember(ipcsh_edit *ed, const char *chunk) {
  HistEvent ev;
  if (chunk[strspn(chunk, " \t\r\n")] == '\0')
    return;
  history(ed->hist, &ev, H_ENTER, chunk);
  if (ed->histpath[0] == '\0')
    return;
  int fd = open(ed->histpath, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  int saved = fd >= 0 && history(ed->hist, &ev, H_SAVE, ed->histpath) >= 0;
  int err = errno;
  if (fd >= 0)
    close(fd);
  if (!saved && !ed->history_failed) {
    ed->history_failed = 1;
    fprintf(stderr, "%s: cannot write the history to %s: %s\n", IPCSH_PROGNAME,
            ed->histpath, strerror(err));
    fflush(stderr);
  }
}

/* ------------------------------------------------------------ the line */

static char *aux_promptfn(EditLine *el) { return (char *)aux_self(el)->prompt; }

/* libedit prints the prompt and only then leaves canonical mode, so keys
 * typed as soon as the prompt shows would be echoed twice by the kernel,
 * and a Ctrl-D would become a canonical end of file. Leaving canonical mode
 * and echo first closes that window; libedit then sets its own mode and
 * restores the original settings after the line. */
static void aux_preinput(void) {
  struct termios t;
  if (tcgetattr(STDIN_FILENO, &t) == 0 && (t.c_lflag & ICANON)) {
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
}

ipcsh_edit *ipcsh_edit_open(lua_State *L) {
  /* Keys that readline users expect and libedit's emacs map lacks. */
  static const char *const binds[][2] = {
      {"^R", "em-inc-search-prev"}, {"\\e[1~", "ed-move-to-beg"},
      {"\\e[4~", "ed-move-to-end"}, {"\\e[7~", "ed-move-to-beg"},
      {"\\e[8~", "ed-move-to-end"}, {"\\e[H", "ed-move-to-beg"},
      {"\\e[F", "ed-move-to-end"},  {"\\e[3~", "ed-delete-next-char"},
      {"\\e[1;5C", "em-next-word"}, {"\\e[1;5D", "ed-prev-word"},
      {"\\e\\e[C", "em-next-word"}, {"\\e\\e[D", "ed-prev-word"},
      {"^I", "ipcsh-complete"},
  };
  struct sigaction sa;
  ipcsh_edit *ed = calloc(1, sizeof *ed);
  if (ed == NULL)
    return NULL;
  ed->L = L;
  ed->prompt = "";
  ed->el = el_init(IPCSH_PROGNAME, stdin, stdout, stderr);
  ed->hist = history_init();
  if (ed->el == NULL || ed->hist == NULL) {
    if (ed->el != NULL)
      el_end(ed->el);
    if (ed->hist != NULL)
      history_end(ed->hist);
    free(ed);
    return NULL;
  }
  el_set(ed->el, EL_CLIENTDATA, ed);
  el_set(ed->el, EL_EDITOR, "emacs");
  el_set(ed->el, EL_SIGNAL, 0); /* our handlers; libedit's re-send SIGINT */
  /* While a line is edited, Ctrl-C and Ctrl-Z are keys that aux_getc
   * handles, not signals for the whole process group. */
  el_set(ed->el, EL_SETTY, "-d", "-isig", NULL);
  struct termios t;
  ed->intr = ed->susp = _POSIX_VDISABLE;
  if (tcgetattr(STDIN_FILENO, &t) == 0) {
    ed->intr = t.c_cc[VINTR];
    ed->susp = t.c_cc[VSUSP];
  }
  el_set(ed->el, EL_PROMPT, aux_promptfn);
  el_set(ed->el, EL_GETCFN, aux_getc);
  /* The wide form: the narrow one copies both strings (wcsdup) and never
   * frees them, which LeakSanitizer reports at exit. */
  el_wset(ed->el, EL_ADDFN, L"ipcsh-complete",
          L"Complete Lua names, fields, methods and file names", aux_complete);
  for (size_t i = 0; i < sizeof binds / sizeof binds[0]; i++)
    el_set(ed->el, EL_BIND, binds[i][0], binds[i][1], NULL);
  aux_history_open(ed);
  el_set(ed->el, EL_HIST, history, ed->hist);
  el_source(ed->el, NULL); /* ~/.editrc, with "ipcsh:" lines for us */
  /* SA_RESTART: a resize must not fail the user's reads with EINTR. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = aux_sigwinch;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &sa, &ed->oldwinch);
  return ed;
}

char *ipcsh_edit_line(ipcsh_edit *ed, const char *prompt) {
  int count = 0;
  const char *line;
  char *copy;
  ed->prompt = prompt;
  aux_preinput();
  line = el_gets(ed->el, &count);
  if (line == NULL || count <= 0)
    return NULL;
  copy = strdup(line);
  if (copy != NULL) {
    size_t len = strlen(copy);
    if (len > 0 && copy[len - 1] == '\n')
      copy[len - 1] = '\0';
  }
  return copy;
}

void ipcsh_edit_close(ipcsh_edit *ed) {
  sigaction(SIGWINCH, &ed->oldwinch, NULL);
  el_end(ed->el);
  history_end(ed->hist);
  free(ed);
}
