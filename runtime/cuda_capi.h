// Thin C layer over the ONNX Runtime C API for device-resident execution
// (CUDA memory, IoBinding to device, placement). It takes the OrtApi table
// from the library onnxruntime_go already loaded (OrtGetApiBase()->GetApi on
// the same handle) and never exchanges OrtValues with onnxruntime_go.
// Every function returning char* returns NULL on success, or a malloc'd
// error message the caller frees.
#ifndef KADAPTER_CUDA_CAPI_H
#define KADAPTER_CUDA_CAPI_H

#include <stddef.h>
#include <stdint.h>
#include "onnxruntime_c_api.h"

char *kort_init(const char *lib_path);
const char *kort_version(void);
char *kort_dlopen_global(const char *path);

char *kort_session_options(int intra, int inter, int opt_level, int cuda_device,
                           const char **cuda_keys, const char **cuda_values, size_t n_cuda,
                           const char **cfg_keys, const char **cfg_values, size_t n_cfg,
                           OrtSessionOptions **out);
void kort_release_session_options(OrtSessionOptions *so);
char *kort_create_session(const char *path, OrtSessionOptions *so, OrtSession **out);
void kort_release_session(OrtSession *s);

char *kort_memory_info(const char *name, int device_id, int device_allocator, OrtMemoryInfo **out);
void kort_release_memory_info(OrtMemoryInfo *m);
char *kort_create_allocator(OrtSession *s, const OrtMemoryInfo *m, OrtAllocator **out);
void kort_release_allocator(OrtAllocator *a);

char *kort_tensor_alloc(OrtAllocator *a, const int64_t *shape, size_t rank, int elem_type, OrtValue **out);
void kort_release_value(OrtValue *v);
char *kort_tensor_data(OrtValue *v, void **out);
char *kort_tensor_info(OrtValue *v, int *elem_type, int64_t *dims, size_t cap, size_t *rank,
                       const char **mem_name, int *mem_id);
char *kort_copy_tensors(OrtValue *src, OrtValue *dst);

char *kort_cuda_memcpy(void *dst, const void *src, size_t bytes);
char *kort_cuda_synchronize(void);

char *kort_binding_create(OrtSession *s, OrtIoBinding **out);
void kort_binding_release(OrtIoBinding *b);
char *kort_bind_input(OrtIoBinding *b, const char *name, OrtValue *v);
char *kort_bind_output(OrtIoBinding *b, const char *name, OrtValue *v);
char *kort_bind_output_to_device(OrtIoBinding *b, const char *name, const OrtMemoryInfo *m);
void kort_binding_clear(OrtIoBinding *b);
char *kort_sync_inputs(OrtIoBinding *b);
char *kort_sync_outputs(OrtIoBinding *b);
char *kort_run_options(OrtRunOptions **out);
void kort_release_run_options(OrtRunOptions *r);
char *kort_terminate(OrtRunOptions *r);
char *kort_run_binding(OrtSession *s, OrtRunOptions *r, OrtIoBinding *b);
char *kort_bound_outputs(OrtIoBinding *b, char **names, size_t *n_names, OrtValue ***values, size_t *n_values);
void kort_free_bound(char *names, OrtValue **values);

char *kort_placement(OrtSession *s, char **out);
void kort_free(void *p);

#endif
