#ifndef GALAXY_CCURLSHIMS_H
#define GALAXY_CCURLSHIMS_H
// curl_easy_setopt and curl_easy_getinfo are variadic macros/functions, which Swift cannot call.
// These typed wrappers give Swift one entry point per argument type.
#include <curl/curl.h>

typedef size_t (*galaxy_curl_write_callback)(char *ptr, size_t size, size_t nmemb, void *userdata);

CURLcode galaxy_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode galaxy_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode galaxy_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode galaxy_curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode galaxy_curl_setopt_write_function(CURL *handle, CURLoption option, galaxy_curl_write_callback callback);
CURLcode galaxy_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode galaxy_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode galaxy_curl_getinfo_string(CURL *handle, CURLINFO info, char **value);

/// curl_global_init exactly once per process, whichever thread asks first (curl_global_init itself is not
/// thread-safe). Returns the result of that one call.
CURLcode galaxy_curl_global_init_once(void);

#endif
