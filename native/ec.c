// Reed-Solomon k+m erasure coding with Intel ISA-L, and page-aligned memory for O_DIRECT I/O.
//
// Coding matrix: ISA-L's Cauchy matrix (gf_gen_cauchy1_matrix), systematic (the first k rows
// are the identity, so fragments 0..k-1 are the data itself). Every k x k submatrix of a Cauchy
// matrix is invertible, so ANY k of the k+m fragments rebuild the rest (a Vandermonde matrix,
// gf_gen_rs_matrix, does not guarantee that for every k, m). The matrix is part of the stored
// format: changing it makes old parity unreadable.
//
// ISA-L is loaded with dlopen(RTLD_DEEPBIND), not linked: the node binary exports OpenSSL's
// curve448 `gf_mul`, and a plain link makes libisal's internal calls to its own `gf_mul`
// (matrix inversion, table setup) land there: wrong tables or a crash.
//
// Everything here is synchronous on the calling thread: 4+2 over 1 MiB takes well under a
// millisecond with AVX2, less than a thread-pool hop would cost.
#include <dlfcn.h>
#include <errno.h>
#include <isa-l/erasure_code.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EC_K_MAX 32
#define EC_M_MAX 16
#define EC_N_MAX (EC_K_MAX + EC_M_MAX)

// Per (k, m): the (k+m) x k encode matrix and the expanded tables for its m parity rows.
// Built once on first use; the addon is used from the JS thread only (no locking needed).
typedef struct {
  unsigned char matrix[EC_N_MAX * EC_K_MAX];
  unsigned char parity_tables[32 * EC_K_MAX * EC_M_MAX];
} ec_code;

static struct {
  void (*init_tables)(int k, int rows, unsigned char *a, unsigned char *gftbls);
  void (*encode_data)(int len, int k, int rows, unsigned char *gftbls, unsigned char **data,
                      unsigned char **coding);
  void (*gen_cauchy1_matrix)(unsigned char *a, int m, int k);
  int (*invert_matrix)(unsigned char *in, unsigned char *out, const int n);
  unsigned char (*mul)(unsigned char a, unsigned char b);
  unsigned int (*crc32_iscsi)(unsigned char *buffer, int len, unsigned int init_crc);
} isal;

// Loads libisal privately; NULL on success, else what went wrong.
static const char *load_isal(void) {
  void *h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (h == NULL) return dlerror();
  isal.init_tables = dlsym(h, "ec_init_tables");
  isal.encode_data = dlsym(h, "ec_encode_data");
  isal.gen_cauchy1_matrix = dlsym(h, "gf_gen_cauchy1_matrix");
  isal.invert_matrix = dlsym(h, "gf_invert_matrix");
  isal.mul = dlsym(h, "gf_mul");
  isal.crc32_iscsi = dlsym(h, "crc32_iscsi");
  if (!isal.crc32_iscsi || !isal.init_tables || !isal.encode_data || !isal.gen_cauchy1_matrix || !isal.invert_matrix ||
      !isal.mul)
    return "libisal.so.2 lacks an erasure-code function";
  return NULL;
}

static ec_code *codes[EC_K_MAX + 1][EC_M_MAX + 1];

static ec_code *code_for(int k, int m) {
  ec_code *c = codes[k][m];
  if (c != NULL) return c;
  c = calloc(1, sizeof(ec_code));
  if (c == NULL) return NULL;
  isal.gen_cauchy1_matrix(c->matrix, k + m, k);
  isal.init_tables(k, m, &c->matrix[k * k], c->parity_tables);
  codes[k][m] = c;
  return c;
}

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "KISEKI_E_INVAL", msg);
  return NULL;
}

static bool get_int(napi_env env, napi_value v, int32_t *out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

// Reads a Uint8Array's data pointer and length; false if `v` is not a Uint8Array.
static bool get_bytes(napi_env env, napi_value v, unsigned char **data, size_t *len) {
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  void *p = NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &p, &ab, &offset) != napi_ok) return false;
  if (type != napi_uint8_array) return false;
  *data = (unsigned char *)p;
  return true;
}

// Reads `count` equal-length Uint8Arrays from the JS array `arr` into `ptrs`.
static bool get_fragments(napi_env env, napi_value arr, uint32_t count, unsigned char **ptrs,
                          size_t *len) {
  uint32_t n = 0;
  if (napi_get_array_length(env, arr, &n) != napi_ok || n != count) return false;
  for (uint32_t i = 0; i < n; i++) {
    napi_value el;
    size_t l = 0;
    if (napi_get_element(env, arr, i, &el) != napi_ok || !get_bytes(env, el, &ptrs[i], &l))
      return false;
    if (i == 0) *len = l;
    else if (l != *len) return false;
  }
  return true;
}

// Shared prologue of ecEncode and ecReconstruct: reads (k, m, arrays, arrays) into argv and
// returns the code for (k, m), or NULL with a JS exception pending.
static ec_code *code_args(napi_env env, napi_callback_info info, napi_value argv[4], int32_t *k,
                          int32_t *m, const char *usage) {
  size_t argc = 4;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4 || !get_int(env, argv[0], k) || !get_int(env, argv[1], m)) {
    throw_range(env, usage);
    return NULL;
  }
  if (*k < 1 || *k > EC_K_MAX || *m < 1 || *m > EC_M_MAX) {
    throw_range(env, "ec: k must be in [1, 32] and m in [1, 16]");
    return NULL;
  }
  ec_code *c = code_for(*k, *m);
  if (c == NULL) napi_throw_error(env, "KISEKI_E_NOMEM", "ec: out of memory");
  return c;
}

// ecEncode(k, m, data: Uint8Array[k], parity: Uint8Array[m]): fills `parity` from `data`.
// All fragments have the same length.
static napi_value Encode(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t k = 0, m = 0;
  ec_code *c = code_args(env, info, argv, &k, &m, "ecEncode(k, m, data[], parity[])");
  if (c == NULL) return NULL;
  unsigned char *data[EC_K_MAX], *parity[EC_M_MAX];
  size_t dlen = 0, plen = 0;
  if (!get_fragments(env, argv[2], (uint32_t)k, data, &dlen) ||
      !get_fragments(env, argv[3], (uint32_t)m, parity, &plen) || dlen != plen)
    return throw_range(env, "ecEncode: need k data and m parity Uint8Arrays of one length");
  if (dlen > INT32_MAX) return throw_range(env, "ecEncode: fragment too large");
  if (dlen > 0) isal.encode_data((int)dlen, k, m, c->parity_tables, data, parity);
  return NULL;
}

// ecReconstruct(k, m, fragments: Uint8Array[k+m], missing: number[]): rebuilds the fragments
// listed in `missing` (their buffers are outputs) from the first k fragments not listed.
static napi_value Reconstruct(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t k = 0, m = 0;
  ec_code *c = code_args(env, info, argv, &k, &m, "ecReconstruct(k, m, fragments[], missing[])");
  if (c == NULL) return NULL;
  const int n = k + m;
  unsigned char *frags[EC_N_MAX];
  size_t len = 0;
  if (!get_fragments(env, argv[2], (uint32_t)n, frags, &len))
    return throw_range(env, "ecReconstruct: need k+m Uint8Arrays of one length");
  if (len > INT32_MAX) return throw_range(env, "ecReconstruct: fragment too large");
  uint32_t nmissing = 0;
  if (napi_get_array_length(env, argv[3], &nmissing) != napi_ok)
    return throw_range(env, "ecReconstruct: missing must be an array of fragment indexes");
  if (nmissing == 0) return NULL;
  if (nmissing > (uint32_t)m) return throw_range(env, "ecReconstruct: more fragments missing than m");
  bool is_missing[EC_N_MAX] = {false};
  int missing[EC_M_MAX];
  for (uint32_t i = 0; i < nmissing; i++) {
    napi_value el;
    int32_t idx = -1;
    napi_get_element(env, argv[3], i, &el);
    if (!get_int(env, el, &idx) || idx < 0 || idx >= n || is_missing[idx])
      return throw_range(env, "ecReconstruct: missing indexes must be distinct and in [0, k+m)");
    is_missing[idx] = true;
    missing[i] = idx;
  }
  // The k surviving rows we decode from, and the matrix B made of their encode rows.
  unsigned char b[EC_K_MAX * EC_K_MAX], inv[EC_K_MAX * EC_K_MAX];
  unsigned char *srcs[EC_K_MAX];
  int r = 0;
  for (int i = 0; i < n && r < k; i++) {
    if (is_missing[i]) continue;
    memcpy(&b[r * k], &c->matrix[i * k], (size_t)k);
    srcs[r++] = frags[i];
  }
  if (isal.invert_matrix(b, inv, k) < 0) {
    // Cannot happen with a Cauchy matrix; an error rather than wrong bytes if it ever does.
    napi_throw_error(env, "KISEKI_E_CORRUPT", "ecReconstruct: decode matrix is singular");
    return NULL;
  }
  // Row for each missing fragment: data fragment e is row e of B^-1; parity fragment e is
  // (encode row e) x B^-1.
  unsigned char rows[EC_M_MAX * EC_K_MAX];
  unsigned char *outs[EC_M_MAX];
  for (uint32_t e = 0; e < nmissing; e++) {
    int idx = missing[e];
    outs[e] = frags[idx];
    if (idx < k) {
      memcpy(&rows[e * k], &inv[idx * k], (size_t)k);
    } else {
      for (int i = 0; i < k; i++) {
        unsigned char s = 0;
        for (int j = 0; j < k; j++) s ^= isal.mul(c->matrix[idx * k + j], inv[j * k + i]);
        rows[e * k + i] = s;
      }
    }
  }
  unsigned char tables[32 * EC_K_MAX * EC_M_MAX];
  isal.init_tables(k, (int)nmissing, rows, tables);
  if (len > 0) isal.encode_data((int)len, k, (int)nmissing, tables, srcs, outs);
  return NULL;
}

// crc32c(data, seed?): CRC-32C with ISA-L's folding (PCLMULQDQ) implementation, several times
// faster than one crc32 instruction stream on large buffers. Same conventions as crc32c.c
// (reflected, init ~seed, final inversion): crc32_iscsi takes and returns the raw register.
static napi_value Crc32c(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  unsigned char *data = NULL;
  size_t len = 0;
  if (argc < 1 || !get_bytes(env, argv[0], &data, &len))
    return throw_range(env, "crc32c: data must be a Uint8Array or Buffer");
  uint32_t seed = 0;
  if (argc >= 2) napi_get_value_uint32(env, argv[1], &seed);
  uint32_t crc = ~seed;
  while (len > 0) {
    int n = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;
    crc = isal.crc32_iscsi(data, n, crc);
    data += n;
    len -= (size_t)n;
  }
  napi_value out;
  napi_create_uint32(env, ~crc, &out);
  return out;
}

static void free_aligned(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

// alignedBuffer(bytes, alignment): a zeroed ArrayBuffer whose memory starts on an `alignment`
// boundary (posix_memalign), for O_DIRECT reads and writes. Freed when the GC collects it.
static napi_value AlignedBuffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t bytes = 0;
  int32_t alignment = 0;
  if (argc < 2 || napi_get_value_int64(env, argv[0], &bytes) != napi_ok ||
      !get_int(env, argv[1], &alignment) || bytes <= 0 || bytes > (int64_t)1 << 31 ||
      alignment < 512 || (alignment & (alignment - 1)) != 0)
    return throw_range(env, "alignedBuffer(bytes in [1, 2 GiB], alignment a power of two >= 512)");
  void *p = NULL;
  int rc = posix_memalign(&p, (size_t)alignment, (size_t)bytes);
  if (rc != 0) {
    napi_throw_error(env, "KISEKI_E_NOMEM", rc == ENOMEM ? "alignedBuffer: out of memory" : "alignedBuffer: posix_memalign failed");
    return NULL;
  }
  memset(p, 0, (size_t)bytes);
  napi_value ab;
  if (napi_create_external_arraybuffer(env, p, (size_t)bytes, free_aligned, NULL, &ab) != napi_ok) {
    free(p);
    napi_throw_error(env, "KISEKI_E_UNAVAILABLE", "alignedBuffer: external buffers are not allowed here");
    return NULL;
  }
  return ab;
}

static napi_value Init(napi_env env, napi_value exports) {
  const char *err = load_isal();
  if (err != NULL) {
    napi_throw_error(env, "KISEKI_E_UNAVAILABLE", err);
    return NULL;
  }
  napi_value fn, v;
  napi_create_function(env, "ecEncode", NAPI_AUTO_LENGTH, Encode, NULL, &fn);
  napi_set_named_property(env, exports, "ecEncode", fn);
  napi_create_function(env, "ecReconstruct", NAPI_AUTO_LENGTH, Reconstruct, NULL, &fn);
  napi_set_named_property(env, exports, "ecReconstruct", fn);
  napi_create_function(env, "crc32c", NAPI_AUTO_LENGTH, Crc32c, NULL, &fn);
  napi_set_named_property(env, exports, "crc32c", fn);
  napi_create_function(env, "alignedBuffer", NAPI_AUTO_LENGTH, AlignedBuffer, NULL, &fn);
  napi_set_named_property(env, exports, "alignedBuffer", fn);
  napi_create_int32(env, EC_K_MAX, &v);
  napi_set_named_property(env, exports, "ecKMax", v);
  napi_create_int32(env, EC_M_MAX, &v);
  napi_set_named_property(env, exports, "ecMMax", v);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
