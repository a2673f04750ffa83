#ifndef CSDK_HOST_GLOBAL_H
#define CSDK_HOST_GLOBAL_H

/*
 * Process-wide state owned by libcsdk: lt_dlinit and
 * curl_global_init(CURL_GLOBAL_DEFAULT), each run exactly once, and one
 * global mutex guarding libltdl and every registry. The mutex is not
 * recursive: never call a public csdk_registry_* function while holding it.
 */
void csdkp_global_init(void);
void csdkp_lock(void);
void csdkp_unlock(void);

#endif
