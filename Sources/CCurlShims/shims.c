#include "CCurlShims.h"

CURLcode galaxy_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode galaxy_curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode galaxy_curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode galaxy_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}
CURLcode galaxy_curl_setopt_write_function(CURL *handle, CURLoption option, galaxy_curl_write_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}
CURLcode galaxy_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode galaxy_curl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}
CURLcode galaxy_curl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

#include <pthread.h>

static pthread_once_t galaxy_curl_once = PTHREAD_ONCE_INIT;
static CURLcode galaxy_curl_init_result = CURLE_OK;

static void galaxy_curl_init(void) {
    galaxy_curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

CURLcode galaxy_curl_global_init_once(void) {
    pthread_once(&galaxy_curl_once, galaxy_curl_init);
    return galaxy_curl_init_result;
}
