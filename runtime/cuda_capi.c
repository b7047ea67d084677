// See cuda_capi.h.
#include "cuda_capi.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const OrtApi *api;
static const OrtApiBase *base;
static OrtEnv *env;

static char *dupmsg(const char *s) {
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  memcpy(p, s, n + 1);
  return p;
}

// st turns an OrtStatus into an error message (NULL for success).
static char *st(OrtStatus *s) {
  if (s == NULL) return NULL;
  char *m = dupmsg(api->GetErrorMessage(s));
  api->ReleaseStatus(s);
  return m;
}

char *kort_init(const char *lib_path) {
  if (api != NULL) return NULL;
  // RTLD_NOLOAD: the library onnxruntime_go opened; never a second copy.
  void *h = dlopen(lib_path, RTLD_LAZY | RTLD_NOLOAD);
  if (h == NULL) {
    const char *e = dlerror();
    char buf[1024];
    snprintf(buf, sizeof buf, "%s is not loaded in this process: %s", lib_path, e ? e : "?");
    return dupmsg(buf);
  }
  typedef const OrtApiBase *(*get_base_fn)(void);
  get_base_fn get_base = (get_base_fn)dlsym(h, "OrtGetApiBase");
  if (get_base == NULL) return dupmsg("OrtGetApiBase not found in the loaded library");
  base = get_base();
  const OrtApi *a = base->GetApi(ORT_API_VERSION);
  if (a == NULL) return dupmsg("the loaded library does not provide the ONNX Runtime C API version this layer needs");
  api = a;
  // OrtEnv is a process-wide singleton in ONNX Runtime: this returns the
  // environment onnxruntime_go created (reference counted).
  char *err = st(api->CreateEnv(ORT_LOGGING_LEVEL_ERROR, "kadapter", &env));
  if (err != NULL) api = NULL;
  return err;
}

const char *kort_version(void) { return base ? base->GetVersionString() : ""; }

char *kort_dlopen_global(const char *path) {
  if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) != NULL) return NULL;
  const char *e = dlerror();
  return dupmsg(e ? e : "dlopen failed");
}

char *kort_session_options(int intra, int inter, int opt_level, int cuda_device,
                           const char **cuda_keys, const char **cuda_values, size_t n_cuda,
                           const char **cfg_keys, const char **cfg_values, size_t n_cfg,
                           OrtSessionOptions **out) {
  OrtSessionOptions *so = NULL;
  char *err = st(api->CreateSessionOptions(&so));
  if (err) return err;
  if (!err && intra > 0) err = st(api->SetIntraOpNumThreads(so, intra));
  if (!err && inter > 0) err = st(api->SetInterOpNumThreads(so, inter));
  if (!err && inter > 1) err = st(api->SetSessionExecutionMode(so, ORT_PARALLEL));
  if (!err) err = st(api->SetSessionGraphOptimizationLevel(so, (GraphOptimizationLevel)opt_level));
  for (size_t i = 0; !err && i < n_cfg; i++) err = st(api->AddSessionConfigEntry(so, cfg_keys[i], cfg_values[i]));
  if (!err && cuda_device >= 0) {
    OrtCUDAProviderOptionsV2 *cuda = NULL;
    err = st(api->CreateCUDAProviderOptions(&cuda));
    if (!err && n_cuda > 0) err = st(api->UpdateCUDAProviderOptions(cuda, cuda_keys, cuda_values, n_cuda));
    if (!err) err = st(api->SessionOptionsAppendExecutionProvider_CUDA_V2(so, cuda));
    if (cuda) api->ReleaseCUDAProviderOptions(cuda);
  }
  if (err) {
    api->ReleaseSessionOptions(so);
    return err;
  }
  *out = so;
  return NULL;
}

void kort_release_session_options(OrtSessionOptions *so) { api->ReleaseSessionOptions(so); }

char *kort_create_session(const char *path, OrtSessionOptions *so, OrtSession **out) {
  return st(api->CreateSession(env, path, so, out));
}

void kort_release_session(OrtSession *s) { api->ReleaseSession(s); }

char *kort_memory_info(const char *name, int device_id, int device_allocator, OrtMemoryInfo **out) {
  return st(api->CreateMemoryInfo(name, device_allocator ? OrtDeviceAllocator : OrtArenaAllocator, device_id,
                                  OrtMemTypeDefault, out));
}

void kort_release_memory_info(OrtMemoryInfo *m) { api->ReleaseMemoryInfo(m); }

char *kort_create_allocator(OrtSession *s, const OrtMemoryInfo *m, OrtAllocator **out) {
  return st(api->CreateAllocator(s, m, out));
}

void kort_release_allocator(OrtAllocator *a) { api->ReleaseAllocator(a); }

char *kort_tensor_alloc(OrtAllocator *a, const int64_t *shape, size_t rank, int elem_type, OrtValue **out) {
  if (a == NULL) {
    char *err = st(api->GetAllocatorWithDefaultOptions(&a));
    if (err) return err;
  }
  return st(api->CreateTensorAsOrtValue(a, shape, rank, (ONNXTensorElementDataType)elem_type, out));
}

void kort_release_value(OrtValue *v) { api->ReleaseValue(v); }

char *kort_tensor_data(OrtValue *v, void **out) { return st(api->GetTensorMutableData(v, out)); }

char *kort_tensor_info(OrtValue *v, int *elem_type, int64_t *dims, size_t cap, size_t *rank,
                       const char **mem_name, int *mem_id) {
  OrtTensorTypeAndShapeInfo *info = NULL;
  char *err = st(api->GetTensorTypeAndShape(v, &info));
  if (err) return err;
  ONNXTensorElementDataType t;
  err = st(api->GetTensorElementType(info, &t));
  if (!err) err = st(api->GetDimensionsCount(info, rank));
  if (!err && *rank > cap) err = dupmsg("tensor rank too large");
  if (!err) err = st(api->GetDimensions(info, dims, *rank));
  api->ReleaseTensorTypeAndShapeInfo(info);
  if (err) return err;
  *elem_type = (int)t;
  const OrtMemoryInfo *m = NULL;
  err = st(api->GetTensorMemoryInfo(v, &m));
  if (!err) err = st(api->MemoryInfoGetName(m, mem_name));
  if (!err) err = st(api->MemoryInfoGetId(m, mem_id));
  return err;
}

char *kort_copy_tensors(OrtValue *src, OrtValue *dst) {
  const OrtValue *s[1] = {src};
  OrtValue *d[1] = {dst};
  return st(api->CopyTensors(env, s, d, NULL, 1));
}

// The CUDA runtime the CUDA provider linked (libcudart.so.13): looked up
// only once the provider has loaded it, never loaded here on its own.
typedef int (*cuda_memcpy_fn)(void *, const void *, size_t, int);
typedef int (*cuda_sync_fn)(void);
typedef const char *(*cuda_err_fn)(int);
static void *cudart;

static char *find_cudart(void) {
  if (cudart) return NULL;
  const char *names[] = {"libcudart.so.13", "libcudart.so.12", "libcudart.so"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    cudart = dlopen(names[i], RTLD_LAZY | RTLD_NOLOAD);
    if (cudart) return NULL;
  }
  return dupmsg("the CUDA runtime (libcudart.so.13) is not loaded: no CUDA session was created in this process");
}

static char *cuda_err(const char *what, int code) {
  cuda_err_fn f = (cuda_err_fn)dlsym(cudart, "cudaGetErrorString");
  char buf[512];
  snprintf(buf, sizeof buf, "%s failed: CUDA error %d (%s)", what, code, f ? f(code) : "?");
  return dupmsg(buf);
}

char *kort_cuda_memcpy(void *dst, const void *src, size_t bytes) {
  char *err = find_cudart();
  if (err) return err;
  cuda_memcpy_fn f = (cuda_memcpy_fn)dlsym(cudart, "cudaMemcpy");
  if (f == NULL) return dupmsg("cudaMemcpy not found in libcudart");
  int rc = f(dst, src, bytes, 4 /* cudaMemcpyDefault: direction from unified addressing */);
  return rc ? cuda_err("cudaMemcpy", rc) : NULL;
}

char *kort_cuda_synchronize(void) {
  char *err = find_cudart();
  if (err) return err;
  cuda_sync_fn f = (cuda_sync_fn)dlsym(cudart, "cudaDeviceSynchronize");
  if (f == NULL) return dupmsg("cudaDeviceSynchronize not found in libcudart");
  int rc = f();
  return rc ? cuda_err("cudaDeviceSynchronize", rc) : NULL;
}

char *kort_binding_create(OrtSession *s, OrtIoBinding **out) { return st(api->CreateIoBinding(s, out)); }
void kort_binding_release(OrtIoBinding *b) { api->ReleaseIoBinding(b); }
char *kort_bind_input(OrtIoBinding *b, const char *name, OrtValue *v) { return st(api->BindInput(b, name, v)); }
char *kort_bind_output(OrtIoBinding *b, const char *name, OrtValue *v) { return st(api->BindOutput(b, name, v)); }
char *kort_bind_output_to_device(OrtIoBinding *b, const char *name, const OrtMemoryInfo *m) {
  return st(api->BindOutputToDevice(b, name, m));
}
void kort_binding_clear(OrtIoBinding *b) {
  api->ClearBoundInputs(b);
  api->ClearBoundOutputs(b);
}
char *kort_sync_inputs(OrtIoBinding *b) { return st(api->SynchronizeBoundInputs(b)); }
char *kort_sync_outputs(OrtIoBinding *b) { return st(api->SynchronizeBoundOutputs(b)); }
char *kort_run_options(OrtRunOptions **out) { return st(api->CreateRunOptions(out)); }
void kort_release_run_options(OrtRunOptions *r) { api->ReleaseRunOptions(r); }
char *kort_terminate(OrtRunOptions *r) { return st(api->RunOptionsSetTerminate(r)); }
char *kort_run_binding(OrtSession *s, OrtRunOptions *r, OrtIoBinding *b) { return st(api->RunWithBinding(s, r, b)); }

char *kort_bound_outputs(OrtIoBinding *b, char **names, size_t *n_names, OrtValue ***values, size_t *n_values) {
  OrtAllocator *a = NULL;
  char *err = st(api->GetAllocatorWithDefaultOptions(&a));
  if (err) return err;
  char *buf = NULL;
  size_t *lens = NULL, count = 0;
  err = st(api->GetBoundOutputNames(b, a, &buf, &lens, &count));
  if (err) return err;
  size_t total = 0;
  for (size_t i = 0; i < count; i++) total += lens[i] + 1;
  char *joined = malloc(total + 1), *p = joined;
  const char *q = buf;
  for (size_t i = 0; i < count; i++) {
    memcpy(p, q, lens[i]);
    p += lens[i];
    q += lens[i];
    *p++ = '\n';
  }
  *p = 0;
  if (buf) api->ReleaseStatus(api->AllocatorFree(a, buf));
  if (lens) api->ReleaseStatus(api->AllocatorFree(a, lens));
  *names = joined;
  *n_names = count;
  OrtValue **vals = NULL;
  size_t nv = 0;
  err = st(api->GetBoundOutputValues(b, a, &vals, &nv));
  if (err) {
    free(joined);
    return err;
  }
  // Copy the array into malloc'd memory so one free path serves both.
  OrtValue **copy = malloc((nv ? nv : 1) * sizeof *copy);
  for (size_t i = 0; i < nv; i++) copy[i] = vals[i];
  if (vals) api->ReleaseStatus(api->AllocatorFree(a, vals));
  *values = copy;
  *n_values = nv;
  return NULL;
}

void kort_free_bound(char *names, OrtValue **values) {
  free(names);
  free(values);
}

char *kort_placement(OrtSession *s, char **out) {
  const OrtEpAssignedSubgraph *const *subs = NULL;
  size_t n = 0;
  char *err = st(api->Session_GetEpGraphAssignmentInfo(s, &subs, &n));
  if (err) return err;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  buf[0] = 0;
  for (size_t i = 0; i < n && !err; i++) {
    const char *ep = NULL;
    err = st(api->EpAssignedSubgraph_GetEpName(subs[i], &ep));
    const OrtEpAssignedNode *const *nodes = NULL;
    size_t nn = 0;
    if (!err) err = st(api->EpAssignedSubgraph_GetNodes(subs[i], &nodes, &nn));
    for (size_t j = 0; j < nn && !err; j++) {
      const char *name = NULL, *op = NULL;
      err = st(api->EpAssignedNode_GetName(nodes[j], &name));
      if (!err) err = st(api->EpAssignedNode_GetOperatorType(nodes[j], &op));
      if (err) break;
      size_t need = strlen(ep) + strlen(name) + strlen(op) + 4;
      while (len + need + 1 > cap) {
        cap *= 2;
        buf = realloc(buf, cap);
      }
      len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%s\n", ep, name, op);
    }
  }
  if (err) {
    free(buf);
    return err;
  }
  *out = buf;
  return NULL;
}

void kort_free(void *p) { free(p); }
