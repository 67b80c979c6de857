/*
 * kiseki_fuse3: libfuse3's low-level API for Node (N-API).
 *
 * libfuse's multi-threaded session loop receives requests on C threads. Each callback copies
 * what it needs (names, write payloads) into a heap record and queues it to JavaScript through
 * one threadsafe function, then returns at once: no C thread waits for JavaScript, so any
 * number of requests can be in flight. JavaScript answers later with the reply functions below
 * (fuse_reply_* only write to /dev/fuse and are safe from any thread). Write payloads become
 * external Buffers (no second copy); read replies are copied out of the caller's Buffer
 * synchronously, so JavaScript may reuse it as soon as the reply call returns.
 *
 * Requests travel to JavaScript as their fuse_req_t pointer in a double (user-space pointers
 * fit in 53 bits on the platforms libfuse supports). Every request must be answered exactly
 * once: fuse/src/session.ts guarantees that.
 */
#define FUSE_USE_VERSION 312
#define _GNU_SOURCE
#include <errno.h>
#include <fuse_lowlevel.h>
#include <node_api.h>
#include <pthread.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum {
  OP_LOOKUP = 1, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR, OP_UNLINK,
  OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN, OP_READ, OP_WRITE, OP_FLUSH, OP_RELEASE,
  OP_FSYNC, OP_OPENDIR, OP_READDIR, OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS, OP_CREATE, OP_EXIT,
  OP_INIT, OP_SETXATTR, OP_GETXATTR, OP_LISTXATTR, OP_REMOVEXATTR, OP_GETLK, OP_SETLK, OP_FLOCK
};

#define WRITE_SLOTS_MAX 64

typedef struct session {
  struct fuse_session *se;
  napi_threadsafe_function tsfn;
  pthread_t thread;
  int thread_started;
  int exited;       /* the loop has returned */
  int closed;
  char *mountpoint;
  int writeback;    /* ask the kernel for its write-back cache */
  unsigned max_background;
  unsigned max_threads;
  int loop_rc;
  /* Write payloads land in JS-owned buffers given at mount (no Buffer per write, no GC churn);
   * a slot is busy from the C thread's copy until JS calls releaseWriteSlot. Writes that find
   * no free slot fall back to a malloc'd external Buffer. */
  pthread_mutex_t slots_mu;
  int nslots;
  size_t slot_bytes;
  char *slot_mem[WRITE_SLOTS_MAX];
  napi_ref slot_ref[WRITE_SLOTS_MAX];
  int free_slots[WRITE_SLOTS_MAX];
  int nfree;
} session;

typedef struct request {
  int op;
  fuse_req_t req;
  uint64_t ino, fh;
  int has_fh;
  double a, b, c;
  char *s1, *s2;
  char *data;
  size_t len;
  double attr[8];
  int has_attr;
  int slot; /* write payload in this pool slot, or -1 */
  uid_t uid;
  gid_t gid;
  pid_t pid;
  mode_t umask;
  uint64_t lock_owner; /* fi->lock_owner: who holds POSIX and flock locks */
  double lk[4];        /* locks: l_type, l_start, l_len (0 = to the end), l_pid */
} request;

static request *new_request(int op, fuse_req_t req, fuse_ino_t ino) {
  request *r = calloc(1, sizeof(request));
  if (!r) return NULL;
  r->op = op;
  r->req = req;
  r->slot = -1;
  r->ino = ino;
  if (req) {
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    r->uid = ctx->uid;
    r->gid = ctx->gid;
    r->pid = ctx->pid;
    r->umask = ctx->umask;
  }
  return r;
}

static void free_request(request *r) {
  free(r->s1);
  free(r->s2);
  free(r->data);
  free(r);
}

/* Queues a request to JavaScript; answers EIO (or nothing, for forget) when JS is gone. */
static void dispatch(fuse_req_t req, request *r) {
  session *s = fuse_req_userdata(req);
  if (!r) {
    if (req) fuse_reply_err(req, ENOMEM);
    return;
  }
  if (napi_call_threadsafe_function(s->tsfn, r, napi_tsfn_nonblocking) != napi_ok) {
    if (r->req) fuse_reply_err(r->req, EIO);
    free_request(r);
  }
}


/* ---- low-level operations (C threads) ------------------------------------------------- */

static void ll_init(void *userdata, struct fuse_conn_info *conn) {
  session *s = userdata;
  /* 1 MiB requests: libfuse's buffer holds 256 pages, and max_pages follows max_write. */
  conn->max_write = 1024 * 1024;
  conn->max_read = 0;
  conn->max_readahead = 1024 * 1024;
  conn->max_background = s->max_background;
  conn->congestion_threshold = s->max_background * 3 / 4;
  conn->want &= ~(FUSE_CAP_SPLICE_READ | FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE);
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (s->writeback && (conn->capable & FUSE_CAP_WRITEBACK_CACHE)) conn->want |= FUSE_CAP_WRITEBACK_CACHE;
  else conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  request *r = new_request(OP_LOOKUP, req, parent);
  if (r) r->s1 = strdup(name);
  dispatch(req, r);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  session *s = fuse_req_userdata(req);
  request *r = new_request(OP_FORGET, NULL, ino);
  fuse_reply_none(req);
  if (!r) return;
  r->a = (double)nlookup;
  if (napi_call_threadsafe_function(s->tsfn, r, napi_tsfn_nonblocking) != napi_ok) free_request(r);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  session *s = fuse_req_userdata(req);
  for (size_t i = 0; i < count; i++) {
    request *r = new_request(OP_FORGET, NULL, forgets[i].ino);
    if (!r) continue;
    r->a = (double)forgets[i].nlookup;
    if (napi_call_threadsafe_function(s->tsfn, r, napi_tsfn_nonblocking) != napi_ok) free_request(r);
  }
  fuse_reply_none(req);
}

static void set_fh(request *r, struct fuse_file_info *fi) {
  if (fi) {
    r->fh = fi->fh;
    r->has_fh = 1;
    r->b = fi->flags;
    r->lock_owner = fi->lock_owner;
  }
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  request *r = new_request(OP_GETATTR, req, ino);
  if (r) set_fh(r, fi);
  dispatch(req, r);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *st, int to_set,
                       struct fuse_file_info *fi) {
  request *r = new_request(OP_SETATTR, req, ino);
  if (r) {
    set_fh(r, fi);
    r->a = to_set;
    r->has_attr = 1;
    r->attr[0] = st->st_mode;
    r->attr[1] = st->st_uid;
    r->attr[2] = st->st_gid;
    r->attr[3] = (double)st->st_size;
    r->attr[4] = (double)st->st_atim.tv_sec;
    r->attr[5] = (double)st->st_atim.tv_nsec;
    r->attr[6] = (double)st->st_mtim.tv_sec;
    r->attr[7] = (double)st->st_mtim.tv_nsec;
  }
  dispatch(req, r);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) { dispatch(req, new_request(OP_READLINK, req, ino)); }

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev) {
  (void)rdev;
  request *r = new_request(OP_MKNOD, req, parent);
  if (r) {
    r->s1 = strdup(name);
    r->a = mode;
  }
  dispatch(req, r);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode) {
  request *r = new_request(OP_MKDIR, req, parent);
  if (r) {
    r->s1 = strdup(name);
    r->a = mode;
  }
  dispatch(req, r);
}

static void name_op(int op, fuse_req_t req, fuse_ino_t parent, const char *name) {
  request *r = new_request(op, req, parent);
  if (r) r->s1 = strdup(name);
  dispatch(req, r);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name) { name_op(OP_UNLINK, req, parent, name); }
static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name) { name_op(OP_RMDIR, req, parent, name); }

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name) {
  request *r = new_request(OP_SYMLINK, req, parent);
  if (r) {
    r->s1 = strdup(name);
    r->s2 = strdup(link);
  }
  dispatch(req, r);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags) {
  request *r = new_request(OP_RENAME, req, parent);
  if (r) {
    r->s1 = strdup(name);
    r->s2 = strdup(newname);
    r->a = (double)newparent;
    r->c = flags;
  }
  dispatch(req, r);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname) {
  request *r = new_request(OP_LINK, req, ino);
  if (r) {
    r->s1 = strdup(newname);
    r->a = (double)newparent;
  }
  dispatch(req, r);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  request *r = new_request(OP_OPEN, req, ino);
  if (r) set_fh(r, fi);
  dispatch(req, r);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  request *r = new_request(OP_READ, req, ino);
  if (r) {
    set_fh(r, fi);
    r->a = (double)size;
    r->c = (double)off;
  }
  dispatch(req, r);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi) {
  request *r = new_request(OP_WRITE, req, ino);
  if (r) {
    set_fh(r, fi);
    r->c = (double)off;
    r->a = (double)size;
    /* libfuse reuses its receive buffer once we return: copy the payload now. */
    session *s = fuse_req_userdata(req);
    if (size <= s->slot_bytes) {
      pthread_mutex_lock(&s->slots_mu);
      if (s->nfree > 0) r->slot = s->free_slots[--s->nfree];
      pthread_mutex_unlock(&s->slots_mu);
    }
    if (r->slot >= 0) {
      memcpy(s->slot_mem[r->slot], buf, size);
      r->len = size;
      dispatch(req, r);
      return;
    }
    r->data = malloc(size ? size : 1);
    if (!r->data) {
      free_request(r);
      fuse_reply_err(req, ENOMEM);
      return;
    }
    memcpy(r->data, buf, size);
    r->len = size;
  }
  dispatch(req, r);
}

static void fh_op(int op, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int extra) {
  request *r = new_request(op, req, ino);
  if (r) {
    set_fh(r, fi);
    r->a = extra;
  }
  dispatch(req, r);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fh_op(OP_FLUSH, req, ino, fi, 0); }
static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  /* a = 1 when the kernel asks us to drop this owner's flock too (the last close of an fd). */
  fh_op(OP_RELEASE, req, ino, fi, fi && fi->flock_release);
}
static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  fh_op(OP_FSYNC, req, ino, fi, datasync);
}
static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fh_op(OP_OPENDIR, req, ino, fi, 0); }
static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  fh_op(OP_RELEASEDIR, req, ino, fi, 0);
}
static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi) {
  fh_op(OP_FSYNCDIR, req, ino, fi, datasync);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  request *r = new_request(OP_READDIR, req, ino);
  if (r) {
    set_fh(r, fi);
    r->a = (double)size;
    r->c = (double)off;
  }
  dispatch(req, r);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino) { dispatch(req, new_request(OP_STATFS, req, ino)); }

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi) {
  request *r = new_request(OP_CREATE, req, parent);
  if (r) {
    set_fh(r, fi);
    r->s1 = strdup(name);
    r->a = mode;
  }
  dispatch(req, r);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value, size_t size,
                        int flags) {
  request *r = new_request(OP_SETXATTR, req, ino);
  if (r) {
    r->s1 = strdup(name);
    r->a = flags;
    r->data = malloc(size ? size : 1);
    if (!r->data) {
      free_request(r);
      fuse_reply_err(req, ENOMEM);
      return;
    }
    memcpy(r->data, value, size);
    r->len = size;
  }
  dispatch(req, r);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size) {
  request *r = new_request(OP_GETXATTR, req, ino);
  if (r) {
    r->s1 = strdup(name);
    r->a = (double)size;
  }
  dispatch(req, r);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  request *r = new_request(OP_LISTXATTR, req, ino);
  if (r) r->a = (double)size;
  dispatch(req, r);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name) {
  name_op(OP_REMOVEXATTR, req, ino, name);
}

static void lock_op(int op, fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
                    int sleep) {
  request *r = new_request(op, req, ino);
  if (r) {
    set_fh(r, fi);
    r->a = sleep;
    r->lk[0] = lock->l_type;
    r->lk[1] = (double)lock->l_start;
    r->lk[2] = (double)lock->l_len;
    r->lk[3] = lock->l_pid;
    r->has_attr = 2;
  }
  dispatch(req, r);
}

static void ll_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock) {
  lock_op(OP_GETLK, req, ino, fi, lock, 0);
}

static void ll_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock, int sleep) {
  lock_op(OP_SETLK, req, ino, fi, lock, sleep);
}

static void ll_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op) {
  fh_op(OP_FLOCK, req, ino, fi, op);
}

static const struct fuse_lowlevel_ops ll_ops = {
  .init = ll_init,
  .lookup = ll_lookup,
  .forget = ll_forget,
  .forget_multi = ll_forget_multi,
  .getattr = ll_getattr,
  .setattr = ll_setattr,
  .readlink = ll_readlink,
  .mknod = ll_mknod,
  .mkdir = ll_mkdir,
  .unlink = ll_unlink,
  .rmdir = ll_rmdir,
  .symlink = ll_symlink,
  .rename = ll_rename,
  .link = ll_link,
  .open = ll_open,
  .read = ll_read,
  .write = ll_write,
  .flush = ll_flush,
  .release = ll_release,
  .fsync = ll_fsync,
  .opendir = ll_opendir,
  .readdir = ll_readdir,
  .releasedir = ll_releasedir,
  .fsyncdir = ll_fsyncdir,
  .statfs = ll_statfs,
  .create = ll_create,
  .setxattr = ll_setxattr,
  .getxattr = ll_getxattr,
  .listxattr = ll_listxattr,
  .removexattr = ll_removexattr,
  .getlk = ll_getlk,
  .setlk = ll_setlk,
  .flock = ll_flock,
};

/* ---- the loop thread ------------------------------------------------------------------ */

static void *loop_main(void *arg) {
  session *s = arg;
  struct fuse_loop_config *cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 0);
  fuse_loop_cfg_set_max_threads(cfg, s->max_threads);
  fuse_loop_cfg_set_idle_threads(cfg, s->max_threads);
  s->loop_rc = fuse_session_loop_mt(s->se, cfg);
  fuse_loop_cfg_destroy(cfg);
  request *r = new_request(OP_EXIT, NULL, 0);
  if (r) {
    r->a = s->loop_rc;
    if (napi_call_threadsafe_function(s->tsfn, r, napi_tsfn_nonblocking) != napi_ok) free_request(r);
  }
  return NULL;
}

/* ---- JavaScript side ------------------------------------------------------------------ */

static napi_value num(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value str_or_undef(napi_env env, const char *s) {
  napi_value out;
  if (s) napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  else napi_get_undefined(env, &out);
  return out;
}

static void free_payload(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* onRequest(op, req, ino, a, b, c, s1, s2, data, fh, uid, gid, pid, umask, lockOwner) */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  request *r = data;
  if (!env) { /* tearing down: answer so the kernel is not left waiting */
    if (r->req) fuse_reply_err(r->req, EIO);
    free_request(r);
    return;
  }
  napi_value argv[15], undef, payload;
  napi_get_undefined(env, &undef);
  payload = undef;
  if (r->slot >= 0) {
    payload = num(env, r->slot);
  } else if (r->op == OP_WRITE || r->op == OP_SETXATTR) {
    if (napi_create_external_buffer(env, r->len, r->data, free_payload, NULL, &payload) == napi_ok) {
      r->data = NULL; /* owned by the Buffer now */
    } else {
      fuse_reply_err(r->req, ENOMEM);
      free_request(r);
      return;
    }
  } else if (r->has_attr == 2) { /* a lock: [l_type, l_start, l_len, l_pid] */
    napi_value ab;
    void *p;
    napi_create_arraybuffer(env, sizeof r->lk, &p, &ab);
    memcpy(p, r->lk, sizeof r->lk);
    napi_create_typedarray(env, napi_float64_array, 4, ab, 0, &payload);
  } else if (r->has_attr) {
    napi_value ab;
    void *p;
    napi_create_arraybuffer(env, sizeof r->attr, &p, &ab);
    memcpy(p, r->attr, sizeof r->attr);
    napi_create_typedarray(env, napi_float64_array, 8, ab, 0, &payload);
  }
  argv[0] = num(env, r->op);
  argv[1] = num(env, (double)(uintptr_t)r->req);
  argv[2] = num(env, (double)r->ino);
  argv[3] = num(env, r->a);
  argv[4] = num(env, r->b);
  argv[5] = num(env, r->c);
  argv[6] = str_or_undef(env, r->s1);
  argv[7] = str_or_undef(env, r->s2);
  argv[8] = payload;
  argv[9] = r->has_fh ? num(env, (double)r->fh) : undef;
  argv[10] = num(env, r->uid);
  argv[11] = num(env, r->gid);
  argv[12] = num(env, r->pid);
  argv[13] = num(env, r->umask);
  {
    /* 64-bit lock owners don't fit a double: they travel as decimal strings. */
    char owner[24];
    snprintf(owner, sizeof owner, "%llu", (unsigned long long)r->lock_owner);
    argv[14] = str_or_undef(env, owner);
  }
  free_request(r);
  napi_value global;
  napi_get_global(env, &global);
  napi_status st = napi_call_function(env, global, js_cb, 15, argv, NULL);
  if (st == napi_pending_exception) {
    /* A throw in the dispatcher is a bug there; surface it as Node does for callbacks. */
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    napi_fatal_exception(env, exc);
  }
}

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, NULL, msg);
}

static session *get_session(napi_env env, napi_value v) {
  session *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || !s) {
    napi_throw_type_error(env, NULL, "not a fuse3 session");
    return NULL;
  }
  return s;
}

static void session_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  session *s = data;
  /* Only free what no thread still uses: a running loop keeps its session. */
  if (s->closed || !s->thread_started) {
    free(s->mountpoint);
    free(s);
  }
}

static char *get_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *out = malloc(len + 1);
  if (!out) return NULL;
  napi_get_value_string_utf8(env, v, out, len + 1, &len);
  return out;
}

static double get_num_prop(napi_env env, napi_value obj, const char *key, double dflt) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) return dflt;
  napi_typeof(env, v, &t);
  if (t == napi_boolean) {
    bool b;
    napi_get_value_bool(env, v, &b);
    return b;
  }
  if (t != napi_number) return dflt;
  double d;
  napi_get_value_double(env, v, &d);
  return d;
}

/* mount(mountpoint, args: string[], opts: {writeback, maxBackground, threads}, onRequest) */
static napi_value Mount(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "mount(mountpoint, args, opts, onRequest)");
    return NULL;
  }
  session *s = calloc(1, sizeof(session));
  s->mountpoint = get_string(env, argv[0]);
  s->writeback = get_num_prop(env, argv[2], "writeback", 0) != 0;
  s->max_background = (unsigned)get_num_prop(env, argv[2], "maxBackground", 64);
  s->max_threads = (unsigned)get_num_prop(env, argv[2], "threads", 4);
  if (s->max_threads < 1) s->max_threads = 1;
  pthread_mutex_init(&s->slots_mu, NULL);
  napi_value slots;
  bool has_slots = false;
  napi_has_named_property(env, argv[2], "writeSlots", &has_slots);
  if (has_slots && napi_get_named_property(env, argv[2], "writeSlots", &slots) == napi_ok) {
    uint32_t n = 0;
    napi_get_array_length(env, slots, &n);
    for (uint32_t i = 0; i < n && s->nslots < WRITE_SLOTS_MAX; i++) {
      napi_value b;
      void *mem;
      size_t len;
      napi_get_element(env, slots, i, &b);
      if (napi_get_buffer_info(env, b, &mem, &len) != napi_ok) continue;
      if (s->nslots == 0 || len < s->slot_bytes) s->slot_bytes = len;
      s->slot_mem[s->nslots] = mem;
      napi_create_reference(env, b, 1, &s->slot_ref[s->nslots]);
      s->free_slots[s->nfree++] = s->nslots;
      s->nslots++;
    }
  }

  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  char **args = calloc(n + 2, sizeof(char *));
  args[0] = strdup("mount.kiseki");
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    napi_get_element(env, argv[1], i, &el);
    args[i + 1] = get_string(env, el);
  }
  struct fuse_args fargs = FUSE_ARGS_INIT((int)n + 1, args);
  s->se = fuse_session_new(&fargs, &ll_ops, sizeof ll_ops, s);
  fuse_opt_free_args(&fargs);
  for (uint32_t i = 0; i <= n; i++) free(args[i]);
  free(args);
  if (!s->se) {
    free(s->mountpoint);
    free(s);
    napi_throw_error(env, NULL, "fuse_session_new failed (bad mount options?)");
    return NULL;
  }
  if (fuse_session_mount(s->se, s->mountpoint) != 0) {
    fuse_session_destroy(s->se);
    free(s->mountpoint);
    free(s);
    napi_throw_error(env, NULL, "fuse_session_mount failed (see the message above)");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "kiseki-fuse3", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[3], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &s->tsfn) !=
      napi_ok) {
    fuse_session_unmount(s->se);
    fuse_session_destroy(s->se);
    free(s->mountpoint);
    free(s);
    napi_throw_error(env, NULL, "could not create the request queue");
    return NULL;
  }
  int err = pthread_create(&s->thread, NULL, loop_main, s);
  if (err) {
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    fuse_session_unmount(s->se);
    fuse_session_destroy(s->se);
    free(s->mountpoint);
    free(s);
    throw_errno(env, "pthread_create", err);
    return NULL;
  }
  s->thread_started = 1;
  napi_value out;
  napi_create_external(env, s, session_finalize, NULL, &out);
  return out;
}

/* unmount(session): detaches the mount (lazily, so open files don't block it); the loop then
 * ends when the kernel drops the connection and JS gets OP_EXIT. */
static napi_value Unmount(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session *s = get_session(env, argv[0]);
  if (!s || s->closed) return NULL;
  int rc = -1;
  if (geteuid() == 0) {
    rc = umount2(s->mountpoint, MNT_DETACH);
    if (rc != 0 && (errno == EINVAL || errno == ENOENT)) rc = 0; /* already gone */
  }
  if (rc != 0) {
    char *const av[] = {"fusermount3", "-u", "-q", "-z", "--", s->mountpoint, NULL};
    pid_t pid;
    if (posix_spawnp(&pid, "fusermount3", NULL, NULL, av, environ) == 0) {
      int status;
      waitpid(pid, &status, 0);
      rc = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
    }
  }
  napi_value out;
  napi_get_boolean(env, rc == 0, &out);
  return out;
}

/* close(session): after OP_EXIT, joins the loop and frees the session. */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  session *s = get_session(env, argv[0]);
  if (!s || s->closed) return NULL;
  s->closed = 1;
  pthread_join(s->thread, NULL);
  fuse_session_unmount(s->se);
  fuse_session_destroy(s->se);
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
  for (int i = 0; i < s->nslots; i++) napi_delete_reference(env, s->slot_ref[i]);
  s->nslots = s->nfree = 0;
  s->slot_bytes = 0;
  return NULL;
}

/* ---- replies -------------------------------------------------------------------------- */

static fuse_req_t get_req(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return (fuse_req_t)(uintptr_t)d;
}

static double *get_f64(napi_env env, napi_value v, size_t need) {
  napi_typedarray_type t;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, v, &t, &len, &data, NULL, NULL) != napi_ok || t != napi_float64_array ||
      len < need) {
    napi_throw_type_error(env, NULL, "expected a Float64Array");
    return NULL;
  }
  return data;
}

/* Attribute layout shared with fuse/src/session.ts. */
enum { A_INO, A_MODE, A_NLINK, A_UID, A_GID, A_SIZE, A_BLOCKS, A_BLKSIZE, A_ATIME, A_ATIME_NS, A_MTIME,
       A_MTIME_NS, A_CTIME, A_CTIME_NS, A_ATTR_TTL, A_ENTRY_TTL, A_LEN };

static void fill_stat(const double *a, struct stat *st) {
  memset(st, 0, sizeof *st);
  st->st_ino = (ino_t)a[A_INO];
  st->st_mode = (mode_t)a[A_MODE];
  st->st_nlink = (nlink_t)a[A_NLINK];
  st->st_uid = (uid_t)a[A_UID];
  st->st_gid = (gid_t)a[A_GID];
  st->st_size = (off_t)a[A_SIZE];
  st->st_blocks = (blkcnt_t)a[A_BLOCKS];
  st->st_blksize = (blksize_t)a[A_BLKSIZE];
  st->st_atim.tv_sec = (time_t)a[A_ATIME];
  st->st_atim.tv_nsec = (long)a[A_ATIME_NS];
  st->st_mtim.tv_sec = (time_t)a[A_MTIME];
  st->st_mtim.tv_nsec = (long)a[A_MTIME_NS];
  st->st_ctim.tv_sec = (time_t)a[A_CTIME];
  st->st_ctim.tv_nsec = (long)a[A_CTIME_NS];
}

static void fill_entry(const double *a, struct fuse_entry_param *e) {
  memset(e, 0, sizeof *e);
  e->ino = (fuse_ino_t)a[A_INO];
  e->generation = 1;
  e->attr_timeout = a[A_ATTR_TTL];
  e->entry_timeout = a[A_ENTRY_TTL];
  fill_stat(a, &e->attr);
}

#define ARGS(n)                                           \
  size_t argc = n;                                        \
  napi_value argv[n];                                     \
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);   \
  if (argc < n) {                                         \
    napi_throw_type_error(env, NULL, "missing arguments"); \
    return NULL;                                          \
  }

static napi_value rc_value(napi_env env, int rc) {
  napi_value out;
  napi_create_int32(env, rc, &out);
  return out;
}

static napi_value ReplyErr(napi_env env, napi_callback_info info) {
  ARGS(2);
  int32_t err = 0;
  napi_get_value_int32(env, argv[1], &err);
  return rc_value(env, fuse_reply_err(get_req(env, argv[0]), err));
}

static napi_value ReplyEntry(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *a = get_f64(env, argv[1], A_LEN);
  if (!a) return NULL;
  struct fuse_entry_param e;
  fill_entry(a, &e);
  return rc_value(env, fuse_reply_entry(get_req(env, argv[0]), &e));
}

static void fill_fi(napi_env env, napi_value fhv, napi_value flagsv, struct fuse_file_info *fi) {
  double fh = 0;
  int32_t flags = 0;
  napi_get_value_double(env, fhv, &fh);
  napi_get_value_int32(env, flagsv, &flags);
  memset(fi, 0, sizeof *fi);
  fi->fh = (uint64_t)fh;
  fi->direct_io = (flags & 1) != 0;
  fi->keep_cache = (flags & 2) != 0;
  fi->nonseekable = (flags & 4) != 0;
}

/* replyCreate(req, attr, fh, openFlags) */
static napi_value ReplyCreate(napi_env env, napi_callback_info info) {
  ARGS(4);
  double *a = get_f64(env, argv[1], A_LEN);
  if (!a) return NULL;
  struct fuse_entry_param e;
  struct fuse_file_info fi;
  fill_entry(a, &e);
  fill_fi(env, argv[2], argv[3], &fi);
  return rc_value(env, fuse_reply_create(get_req(env, argv[0]), &e, &fi));
}

static napi_value ReplyAttr(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *a = get_f64(env, argv[1], A_LEN);
  if (!a) return NULL;
  struct stat st;
  fill_stat(a, &st);
  return rc_value(env, fuse_reply_attr(get_req(env, argv[0]), &st, a[A_ATTR_TTL]));
}

/* replyOpen(req, fh, openFlags) */
static napi_value ReplyOpen(napi_env env, napi_callback_info info) {
  ARGS(3);
  struct fuse_file_info fi;
  fill_fi(env, argv[1], argv[2], &fi);
  return rc_value(env, fuse_reply_open(get_req(env, argv[0]), &fi));
}

/* replyData(req, buffer, length) */
static napi_value ReplyData(napi_env env, napi_callback_info info) {
  ARGS(3);
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return NULL;
  }
  uint32_t n = 0;
  napi_get_value_uint32(env, argv[2], &n);
  if (n > len) n = (uint32_t)len;
  return rc_value(env, fuse_reply_buf(get_req(env, argv[0]), data, n));
}

/* replyDataAsync(req, buffer, length, done): the same, with the copy into the kernel (page cache
 * pages, often fresh memory) on a libuv pool thread instead of the JS thread; `done()` runs when
 * the buffer may be reused. */
typedef struct {
  napi_async_work work;
  napi_ref buf_ref;
  napi_ref done_ref;
  fuse_req_t req;
  void *data;
  size_t len;
} async_reply;

static void async_reply_run(napi_env env, void *arg) {
  (void)env;
  async_reply *a = arg;
  fuse_reply_buf(a->req, a->data, a->len);
}

static void async_reply_done(napi_env env, napi_status status, void *arg) {
  (void)status;
  async_reply *a = arg;
  napi_value done, undef;
  napi_get_reference_value(env, a->done_ref, &done);
  napi_get_undefined(env, &undef);
  napi_delete_reference(env, a->buf_ref);
  napi_delete_reference(env, a->done_ref);
  napi_delete_async_work(env, a->work);
  free(a);
  napi_call_function(env, undef, done, 0, NULL, NULL);
}

static napi_value ReplyDataAsync(napi_env env, napi_callback_info info) {
  ARGS(4);
  void *data;
  size_t len;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "expected a Buffer");
    return NULL;
  }
  uint32_t n = 0;
  napi_get_value_uint32(env, argv[2], &n);
  async_reply *a = calloc(1, sizeof *a);
  if (!a) return rc_value(env, fuse_reply_err(get_req(env, argv[0]), ENOMEM));
  a->req = get_req(env, argv[0]);
  a->data = data;
  a->len = n > len ? len : n;
  napi_create_reference(env, argv[1], 1, &a->buf_ref);
  napi_create_reference(env, argv[3], 1, &a->done_ref);
  napi_value name;
  napi_create_string_utf8(env, "kiseki-fuse3-reply", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, async_reply_run, async_reply_done, a, &a->work);
  napi_queue_async_work(env, a->work);
  return rc_value(env, 0);
}

/* releaseWriteSlot(session, slot): JS is done with a write payload slot. */
static napi_value ReleaseWriteSlot(napi_env env, napi_callback_info info) {
  ARGS(2);
  session *s = get_session(env, argv[0]);
  if (!s) return NULL;
  int32_t slot = -1;
  napi_get_value_int32(env, argv[1], &slot);
  if (slot < 0 || slot >= s->nslots) {
    napi_throw_range_error(env, NULL, "no such write slot");
    return NULL;
  }
  pthread_mutex_lock(&s->slots_mu);
  if (s->nfree < s->nslots) s->free_slots[s->nfree++] = slot;
  pthread_mutex_unlock(&s->slots_mu);
  return NULL;
}

static napi_value ReplyWrite(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint32_t n = 0;
  napi_get_value_uint32(env, argv[1], &n);
  return rc_value(env, fuse_reply_write(get_req(env, argv[0]), n));
}

static napi_value ReplyReadlink(napi_env env, napi_callback_info info) {
  ARGS(2);
  char *link = get_string(env, argv[1]);
  if (!link) return rc_value(env, fuse_reply_err(get_req(env, argv[0]), ENOMEM));
  int rc = fuse_reply_readlink(get_req(env, argv[0]), link);
  free(link);
  return rc_value(env, rc);
}

/* replyStatfs(req, [bsize, frsize, blocks, bfree, bavail, files, ffree, favail, namemax]) */
static napi_value ReplyStatfs(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *a = get_f64(env, argv[1], 9);
  if (!a) return NULL;
  struct statvfs sv;
  memset(&sv, 0, sizeof sv);
  sv.f_bsize = (unsigned long)a[0];
  sv.f_frsize = (unsigned long)a[1];
  sv.f_blocks = (fsblkcnt_t)a[2];
  sv.f_bfree = (fsblkcnt_t)a[3];
  sv.f_bavail = (fsblkcnt_t)a[4];
  sv.f_files = (fsfilcnt_t)a[5];
  sv.f_ffree = (fsfilcnt_t)a[6];
  sv.f_favail = (fsfilcnt_t)a[7];
  sv.f_namemax = (unsigned long)a[8];
  return rc_value(env, fuse_reply_statfs(get_req(env, argv[0]), &sv));
}

/* replyDir(req, size, firstOffset, names: string[], inos: Float64Array, modes: Float64Array):
 * packs entries while they fit in `size` bytes; entry i gets offset firstOffset + i + 1.
 * Returns how many were packed. */
static napi_value ReplyDir(napi_env env, napi_callback_info info) {
  ARGS(6);
  fuse_req_t req = get_req(env, argv[0]);
  uint32_t size = 0, count = 0;
  double first = 0;
  napi_get_value_uint32(env, argv[1], &size);
  napi_get_value_double(env, argv[2], &first);
  napi_get_array_length(env, argv[3], &count);
  double *inos = get_f64(env, argv[4], count);
  if (!inos) return NULL;
  double *modes = get_f64(env, argv[5], count);
  if (!modes) return NULL;
  char *buf = malloc(size ? size : 1);
  if (!buf) return rc_value(env, fuse_reply_err(req, ENOMEM));
  size_t used = 0;
  uint32_t i = 0;
  char name[1024];
  for (; i < count; i++) {
    napi_value el;
    size_t nlen;
    napi_get_element(env, argv[3], i, &el);
    if (napi_get_value_string_utf8(env, el, name, sizeof name, &nlen) != napi_ok) break;
    struct stat st;
    memset(&st, 0, sizeof st);
    st.st_ino = (ino_t)inos[i];
    st.st_mode = (mode_t)modes[i];
    size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);
    if (used + need > size) break;
    fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)(first + i + 1));
    used += need;
  }
  fuse_reply_buf(req, buf, used);
  free(buf);
  napi_value out;
  napi_create_uint32(env, i, &out);
  return out;
}

/* replyXattr(req, size): the size a getxattr/listxattr with size 0 asks for. */
static napi_value ReplyXattr(napi_env env, napi_callback_info info) {
  ARGS(2);
  uint32_t n = 0;
  napi_get_value_uint32(env, argv[1], &n);
  return rc_value(env, fuse_reply_xattr(get_req(env, argv[0]), n));
}

/* replyLock(req, [l_type, l_start, l_len, l_pid]): F_GETLK's answer (F_UNLCK: no conflict). */
static napi_value ReplyLock(napi_env env, napi_callback_info info) {
  ARGS(2);
  double *a = get_f64(env, argv[1], 4);
  if (!a) return NULL;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = (short)a[0];
  fl.l_whence = SEEK_SET;
  fl.l_start = (off_t)a[1];
  fl.l_len = (off_t)a[2];
  fl.l_pid = (pid_t)a[3];
  return rc_value(env, fuse_reply_lock(get_req(env, argv[0]), &fl));
}

/* ---- cache invalidation (crypto-shred) ------------------------------------------------- */

typedef struct inval_work {
  napi_async_work work;
  napi_deferred deferred;
  session *s;
  uint64_t *inos;
  size_t n;
  uint32_t failed;
} inval_work;

/* On a libuv pool thread: a notify write can wait for the kernel, which may in turn wait for a
 * reply from JavaScript; the JS thread must stay free to give it. */
static void inval_execute(napi_env env, void *data) {
  (void)env;
  inval_work *w = data;
  for (size_t i = 0; i < w->n; i++) {
    if (w->s->closed || w->s->exited) break;
    int rc = fuse_lowlevel_notify_inval_inode(w->s->se, (fuse_ino_t)w->inos[i], 0, 0);
    if (rc != 0 && rc != -ENOENT) w->failed++;
  }
}

static void inval_complete(napi_env env, napi_status status, void *data) {
  inval_work *w = data;
  napi_value out;
  napi_create_uint32(env, w->failed, &out);
  napi_resolve_deferred(env, w->deferred, out);
  napi_delete_async_work(env, w->work);
  free(w->inos);
  free(w);
}

/* invalidateInodes(session, inos: Float64Array): Promise<failures>. Drops the kernel's cached
 * pages and attributes of each inode (the next read or stat comes to us). */
static napi_value InvalidateInodes(napi_env env, napi_callback_info info) {
  ARGS(2);
  session *s = get_session(env, argv[0]);
  if (!s) return NULL;
  napi_typedarray_type t;
  size_t len;
  void *data;
  if (napi_get_typedarray_info(env, argv[1], &t, &len, &data, NULL, NULL) != napi_ok || t != napi_float64_array) {
    napi_throw_type_error(env, NULL, "expected a Float64Array of inode numbers");
    return NULL;
  }
  inval_work *w = calloc(1, sizeof(inval_work));
  if (!w || !(w->inos = malloc((len ? len : 1) * sizeof(uint64_t)))) {
    free(w);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < len; i++) w->inos[i] = (uint64_t)((double *)data)[i];
  w->n = len;
  w->s = s;
  napi_value promise, name;
  napi_create_promise(env, &w->deferred, &promise);
  napi_create_string_utf8(env, "kiseki-fuse3-inval", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, inval_execute, inval_complete, w, &w->work);
  napi_queue_async_work(env, w->work);
  return promise;
}

static napi_value ReplyNone(napi_env env, napi_callback_info info) {
  ARGS(1);
  fuse_reply_none(get_req(env, argv[0]));
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  const struct { const char *name; napi_callback fn; } fns[] = {
    {"mount", Mount}, {"unmount", Unmount}, {"close", Close}, {"replyErr", ReplyErr},
    {"replyEntry", ReplyEntry}, {"replyCreate", ReplyCreate}, {"replyAttr", ReplyAttr},
    {"replyOpen", ReplyOpen}, {"replyData", ReplyData}, {"replyDataAsync", ReplyDataAsync}, {"releaseWriteSlot", ReleaseWriteSlot}, {"replyWrite", ReplyWrite},
    {"replyReadlink", ReplyReadlink}, {"replyStatfs", ReplyStatfs}, {"replyDir", ReplyDir},
    {"replyNone", ReplyNone}, {"replyXattr", ReplyXattr}, {"replyLock", ReplyLock},
    {"invalidateInodes", InvalidateInodes},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
