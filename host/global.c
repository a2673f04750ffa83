#include "config.h"

#include <pthread.h>

#include <curl/curl.h>
#include <ltdl.h>

#include "global.h"

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t global_mutex = PTHREAD_MUTEX_INITIALIZER;

static void global_init_once(void)
{
	/* Failures surface later, as the dlerror of the first plugin load. */
	(void)lt_dlinit();
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
}

void csdkp_global_init(void)
{
	pthread_once(&global_once, global_init_once);
}

void csdkp_lock(void)
{
	pthread_mutex_lock(&global_mutex);
}

void csdkp_unlock(void)
{
	pthread_mutex_unlock(&global_mutex);
}
