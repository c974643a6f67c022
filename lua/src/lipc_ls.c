/* lipc_ls.c: ipc.ls, the system's IPC objects as a list of plain records,
 * and ipc.rm, which removes one that nobody uses, saying why it will not
 * when it refuses (in use by whom, owned by whom, not made by libipc). */
#include "lipc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The snapshot a call is working on, in a userdata whose __gc frees it, so
 * that a Lua error (out of memory making the records) leaks nothing. */
#define LIPC_LS "ipc.ls"

typedef struct lipc_ls {
  ipc_ls_t *ls;
} lipc_ls;

static int lsbox_gc(lua_State *L) {
  lipc_ls *box = luaL_checkudata(L, 1, LIPC_LS);
  ipc_ls_close(box->ls);
  box->ls = NULL;
  return 0;
}

/* Pushes an empty box. */
static lipc_ls *aux_newbox(lua_State *L) {
  lipc_ls *box = lipc_newuserdata(L, sizeof *box);
  box->ls = NULL;
  luaL_getmetatable(L, LIPC_LS);
  lua_setmetatable(L, -2);
  return box;
}

/* The kind named s, or -1. */
static int aux_kind(const char *s) {
  for (int k = 0; k < IPC_OBJ_KINDS; k++)
    if (strcmp(s, ipc_ls_kind_name(k)) == 0)
      return k;
  return -1;
}

static int aux_checkkind(lua_State *L, int idx, int arg) {
  const char *s = lua_tostring(L, idx);
  int k = lua_type(L, idx) == LUA_TSTRING ? aux_kind(s) : -1;
  if (k < 0)
    luaL_argerror(L, arg,
                  lua_pushfstring(L,
                                  "unknown kind '%s' (shm, sem, mq, fifo, "
                                  "sysv_shm, sysv_msg or sysv_sem)",
                                  s ? s : luaL_typename(L, idx)));
  return k;
}

/* The kinds of opts.kind at arg: a kind's name or a list of them; 0 (all)
 * when absent. */
static unsigned aux_kinds(lua_State *L, int arg) {
  unsigned kinds = 0;
  if (lua_isnoneornil(L, arg))
    return 0;
  lua_getfield(L, arg, "kind");
  if (lua_istable(L, -1)) {
    size_t n = lipc_rawlen(L, -1);
    luaL_argcheck(L, n > 0, arg, "opts.kind is an empty list");
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, -1, (lua_Integer)i);
      kinds |= 1u << aux_checkkind(L, -1, arg);
      lua_pop(L, 1);
    }
  } else if (!lua_isnil(L, -1)) {
    kinds = 1u << aux_checkkind(L, -1, arg);
  }
  lua_pop(L, 1);
  return kinds;
}

/* A string field of the opts table at arg, or NULL; it stays valid while
 * the table holds it. */
static const char *aux_optstring(lua_State *L, int arg, const char *field) {
  if (lua_isnoneornil(L, arg))
    return NULL;
  lua_getfield(L, arg, field);
  const char *s = NULL;
  if (lua_type(L, -1) == LUA_TSTRING)
    s = lua_tostring(L, -1);
  else if (!lua_isnil(L, -1))
    luaL_argerror(L, arg,
                  lua_pushfstring(L, "opts.%s must be a string, got %s", field,
                                  luaL_typename(L, -1)));
  lua_pop(L, 1);
  return s;
}

/* opts.dir at arg as a NULL-terminated array (in a userdata pushed on the
 * stack), or NULL when absent. */
static const char *const *aux_dirs(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg))
    return NULL;
  lua_getfield(L, arg, "dir");
  int t = lua_gettop(L);
  const char **dirs = NULL;
  if (lua_type(L, t) == LUA_TSTRING) {
    dirs = lipc_newuserdata(L, 2 * sizeof *dirs);
    dirs[0] = lua_tostring(L, t);
    dirs[1] = NULL;
  } else if (lua_istable(L, t)) {
    size_t n = lipc_rawlen(L, t);
    dirs = lipc_newuserdata(L, (n + 1) * sizeof *dirs);
    for (size_t i = 1; i <= n; i++) {
      lua_rawgeti(L, t, (lua_Integer)i);
      luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, arg,
                    "opts.dir must be a string or a list of strings");
      dirs[i - 1] = lua_tostring(L, -1); /* the table keeps it */
      lua_pop(L, 1);
    }
    dirs[n] = NULL;
  } else if (!lua_isnil(L, t)) {
    luaL_argerror(L, arg, "opts.dir must be a string or a list of strings");
  }
  lua_remove(L, t); /* the array (if any) stays, the table holds the dirs */
  return dirs;
}

static void aux_setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* ours / in_use: 1 true, 0 false, -1 nil (cannot tell). */
static void aux_settri(lua_State *L, const char *k, int v) {
  if (v < 0)
    return;
  lua_pushboolean(L, v);
  lua_setfield(L, -2, k);
}

/* Pushes the name of o: its own, or "sysv_shm:<id>" for System V. */
static void aux_pushname(lua_State *L, const ipc_obj_t *o) {
  if (o->name)
    lua_pushstring(L, o->name);
  else
    lua_pushfstring(L, "%s:%d", ipc_ls_kind_name(o->kind), o->id);
}

/* Pushes the record of o. */
static void aux_pushobj(lua_State *L, const ipc_obj_t *o) {
  lua_newtable(L);
  lua_pushstring(L, ipc_ls_kind_name(o->kind));
  lua_setfield(L, -2, "kind");
  aux_pushname(L, o);
  lua_setfield(L, -2, "name");
  if (o->owner)
    lua_pushstring(L, o->owner);
  else
    lua_pushfstring(L, "%d", (int)o->uid);
  lua_setfield(L, -2, "owner");
  aux_setint(L, "uid", (lua_Integer)o->uid);
  aux_setint(L, "gid", (lua_Integer)o->gid);
  aux_setint(L, "mode", o->mode);
  aux_setint(L, "size", (lua_Integer)o->size);
  aux_setint(L, "mtime", (lua_Integer)o->mtime);
  if (o->count >= 0)
    aux_setint(L, "count", (lua_Integer)o->count);
  aux_settri(L, "ours", o->ours);
  if (o->kind == IPC_OBJ_SHM) {
    lua_pushboolean(L, o->ring);
    lua_setfield(L, -2, "ring");
  }
  aux_settri(L, "in_use", o->in_use);
  if (o->nattch >= 0)
    aux_setint(L, "attached", o->nattch);
  lua_createtable(
      L, o->nusers < IPC_OBJ_MAX_USERS ? o->nusers : IPC_OBJ_MAX_USERS, 0);
  for (int i = 0; i < o->nusers && i < IPC_OBJ_MAX_USERS; i++) {
    lua_pushinteger(L, o->users[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "users");
  aux_setint(L, "nusers", o->nusers);
  if (o->kind >= IPC_OBJ_SYSV_SHM) {
    aux_setint(L, "id", o->id);
    if (o->key != IPC_PRIVATE)
      aux_setint(L, "key", (lua_Integer)(uint32_t)o->key);
  } else {
    aux_setint(L, "dev", (lua_Integer)o->dev);
    aux_setint(L, "ino", (lua_Integer)o->ino);
  }
}

/* The failure of ipc_ls_open with directories: names the one at fault. */
static int aux_lsfail(lua_State *L, int rc, const char *const *dirs) {
  for (size_t i = 0; dirs && dirs[i]; i++) {
    struct stat st;
    if (stat(dirs[i], &st) < 0 || !S_ISDIR(st.st_mode) ||
        access(dirs[i], R_OK | X_OK) < 0)
      return lipc_fail(L, rc, "ls: %s", dirs[i]);
  }
  return lipc_fail(L, rc, "ls");
}

static const char *const ls_opts[] = {"kind", "dir", "name", NULL};

/* ipc.ls([opts]) -> list of records, hidden (processes that could not be
 * inspected); opts: kind (a kind or a list), dir (FIFO directories), name. */
static int l_ls(lua_State *L) {
  lua_settop(L, 1);
  lipc_checkopts(L, 1, ls_opts);
  ipc_ls_opts_t opts = {.kinds = aux_kinds(L, 1),
                        .name = aux_optstring(L, 1, "name"),
                        .dirs = aux_dirs(L, 1)};
  lipc_ls *box = aux_newbox(L);
  int rc = ipc_ls_open(&box->ls, &opts);
  if (rc < 0)
    return aux_lsfail(L, rc, opts.dirs);
  size_t n = ipc_ls_count(box->ls);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    aux_pushobj(L, ipc_ls_get(box->ls, i));
    lua_rawseti(L, -2, (lua_Integer)(i + 1));
  }
  lua_pushinteger(L, ipc_ls_hidden(box->ls));
  ipc_ls_close(box->ls); /* now rather than at the next collection */
  box->ls = NULL;
  return 2;
}

/* -------------------------------------------------------------------- rm */

/* Appends " pid (comm)" of pid to the buffer. */
static void aux_addpid(luaL_Buffer *b, pid_t pid) {
  char path[32], comm[64];
  snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
  FILE *f = fopen(path, "re");
  size_t n = f ? fread(comm, 1, sizeof comm - 1, f) : 0;
  if (f)
    fclose(f);
  while (n > 0 && comm[n - 1] == '\n')
    n--;
  comm[n] = '\0';
  char s[128];
  snprintf(s, sizeof s, n ? "%d (%s)" : "%d", (int)pid, comm);
  luaL_addstring(b, s);
}

/* nil, "rm: <name>: in use by ...", IPC_EBUSY, from the fresh record. */
static int aux_busy(lua_State *L, const ipc_obj_t *o) {
  luaL_Buffer b;
  aux_pushname(L, o);
  const char *name = lua_tostring(L, -1);
  lua_pushnil(L);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "rm: ");
  luaL_addstring(&b, name);
  if (o->in_use < 0) {
    luaL_addstring(&b, ": cannot tell whether it is in use (its semaphores "
                       "cannot be read)");
  } else if (o->nusers > 0) {
    luaL_addstring(&b,
                   o->nusers > 1 ? ": in use by pids " : ": in use by pid ");
    for (int i = 0; i < o->nusers && i < IPC_OBJ_MAX_USERS; i++) {
      if (i > 0)
        luaL_addstring(&b, ", ");
      aux_addpid(&b, o->users[i]);
    }
    if (o->nusers > IPC_OBJ_MAX_USERS) {
      char s[48];
      snprintf(s, sizeof s, " and %d more", o->nusers - IPC_OBJ_MAX_USERS);
      luaL_addstring(&b, s);
    }
  } else {
    char s[64];
    snprintf(s, sizeof s, ": in use (attached %d times)", o->nattch);
    luaL_addstring(&b, s);
  }
  luaL_pushresult(&b);
  lua_pushinteger(L, IPC_EBUSY);
  return 3;
}

/* Finds the object target names (at arg 1: a name, "sysv_x:<id>", or a
 * record) in a fresh snapshot in box. Returns its index, or pushes the
 * failure triple and returns -1. */
static long aux_find(lua_State *L, lipc_ls *box, int kind) {
  ipc_ls_opts_t opts = {
      .kinds = kind >= 0 ? 1u << kind : 0, .name = NULL, .dirs = NULL};
  const char *target;
  int id = -1;
  lua_Integer ino = 0, key = -1;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "kind");
    kind = aux_checkkind(L, -1, 1);
    lua_getfield(L, 1, "name");
    target = lua_tostring(L, -1);
    luaL_argcheck(L, target != NULL, 1, "record has no name");
    lua_getfield(L, 1, "id");
    lua_getfield(L, 1, "ino");
    lua_getfield(L, 1, "key");
    if (kind >= IPC_OBJ_SYSV_SHM) {
      luaL_argcheck(L, lipc_isinteger(L, -3), 1, "record has no id");
      id = (int)lua_tointeger(L, -3);
      if (lipc_isinteger(L, -1))
        key = lua_tointeger(L, -1);
    } else if (lipc_isinteger(L, -2)) {
      ino = lua_tointeger(L, -2);
    }
    lua_pop(L, 3); /* the name stays for the messages */
    opts.kinds = 1u << kind;
  } else {
    target = luaL_checkstring(L, 1);
    char sysv[16];
    int n = 0;
    if (sscanf(target, "%15[a-z_]:%d%n", sysv, &id, &n) == 2 &&
        target[n] == '\0' && aux_kind(sysv) >= IPC_OBJ_SYSV_SHM) {
      luaL_argcheck(L, kind < 0 || kind == aux_kind(sysv), 2,
                    "opts.kind differs from the kind in the name");
      kind = aux_kind(sysv);
      opts.kinds = 1u << kind;
    } else {
      id = -1;
    }
  }
  if (kind < IPC_OBJ_SYSV_SHM)
    opts.name = target;
  int rc = ipc_ls_open(&box->ls, &opts);
  if (rc < 0) {
    lipc_fail(L, rc, "rm: %s", target);
    return -1;
  }
  size_t n = ipc_ls_count(box->ls), found = 0;
  long at = -1;
  const char *kinds[IPC_OBJ_KINDS];
  for (size_t i = 0; i < n; i++) {
    const ipc_obj_t *o = ipc_ls_get(box->ls, i);
    if (id >= 0 ? o->id == id : (o->name && strcmp(o->name, target) == 0)) {
      if (found < IPC_OBJ_KINDS)
        kinds[found] = ipc_ls_kind_name(o->kind);
      found++;
      at = (long)i;
    }
  }
  if (found == 0) {
    lipc_fail(L, IPC_ENOENT, "rm: %s", target);
    return -1;
  }
  if (found > 1) {
    lua_pushnil(L);
    lua_pushfstring(L,
                    "rm: %s: ambiguous: a %s and a %s have that name; say "
                    "which with {kind = ...}",
                    target, kinds[0], kinds[1]);
    lua_pushinteger(L, IPC_EINVAL);
    return -1;
  }
  const ipc_obj_t *o = ipc_ls_get(box->ls, (size_t)at);
  if ((ino != 0 && (uint64_t)ino != o->ino) ||
      (key >= 0 && (uint32_t)key != (uint32_t)o->key)) {
    lua_pushnil(L);
    lua_pushfstring(L, "rm: %s: %s", target,
                    "not the object listed: it was replaced since");
    lua_pushinteger(L, IPC_ENOENT);
    return -1;
  }
  return at;
}

static const char *const rm_opts[] = {"force", "kind", NULL};

/* ipc.rm(name | record, [opts]) -> true, or nil, msg, code; opts: force
 * (remove another owner's object, or one not made by libipc), kind. */
static int l_rm(lua_State *L) {
  lua_settop(L, 2);
  lipc_checkopts(L, 2, rm_opts);
  int kind = -1, force = 0;
  if (!lua_isnil(L, 2)) {
    lua_getfield(L, 2, "kind");
    if (!lua_isnil(L, -1))
      kind = aux_checkkind(L, -1, 2);
    lua_getfield(L, 2, "force");
    force = lua_toboolean(L, -1);
    lua_pop(L, 2);
  }
  if (!lua_istable(L, 1))
    luaL_checkstring(L, 1);
  lipc_ls *box = aux_newbox(L);
  long at = aux_find(L, box, kind);
  if (at < 0)
    return 3;
  int rc = ipc_ls_remove(box->ls, (size_t)at, force ? IPC_LS_FORCE : 0);
  const ipc_obj_t *o = ipc_ls_get(box->ls, (size_t)at);
  if (rc == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  if (rc == IPC_EBUSY)
    return aux_busy(L, o);
  aux_pushname(L, o);
  const char *name = lua_tostring(L, -1);
  if (rc == IPC_EPERM && !force && o->uid != geteuid()) {
    lua_pushnil(L);
    lua_pushfstring(L,
                    "rm: %s: not yours: owned by %s (uid %d); {force = true} "
                    "removes it anyway",
                    name, o->owner ? o->owner : "?", (int)o->uid);
    lua_pushinteger(L, rc);
    return 3;
  }
  if (rc == IPC_EPERM && !force && o->ours == 0) {
    lua_pushnil(L);
    lua_pushfstring(L,
                    "rm: %s: not made by libipc (no user.libipc attribute, "
                    "no ring header); {force = true} removes it anyway",
                    name);
    lua_pushinteger(L, rc);
    return 3;
  }
  return lipc_fail(L, rc, "rm: %s", name);
}

static const luaL_Reg lslib[] = {
    {"ls", l_ls},
    {"rm", l_rm},
    {NULL, NULL},
};

static const luaL_Reg lsbox_meta[] = {
    {"__gc", lsbox_gc},
    {NULL, NULL},
};

void lipc_open_ls(lua_State *L) {
  luaL_newmetatable(L, LIPC_LS);
  lipc_setfuncs(L, lsbox_meta, 0);
  lua_pop(L, 1);
  lipc_setfuncs(L, lslib, 0);
}
