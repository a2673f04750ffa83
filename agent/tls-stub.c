/*
 * Debian's libmicrohttpd.a is built with HTTPS support, so it references
 * GnuTLS; GnuTLS needs p11-kit, which Debian ships only as a shared library.
 * csdk-agent never enables TLS (MHD_USE_TLS), so in the static binary these
 * symbols are never called: each stub fails, and gnutls_global_init (run by
 * MHD's constructor) succeeds doing nothing.
 */
#include <stdlib.h>

#define AGENT_TLS_STUB(name)            \
	int name(void);                 \
	int name(void)                  \
	{                               \
		return -1250;           \
	}

int gnutls_global_init(void);
int gnutls_global_init(void)
{
	return 0;
}

void gnutls_global_deinit(void);
void gnutls_global_deinit(void)
{
}

void *(*gnutls_malloc)(size_t) = malloc;

AGENT_TLS_STUB(gnutls_alpn_set_protocols)
AGENT_TLS_STUB(gnutls_bye)
AGENT_TLS_STUB(gnutls_certificate_allocate_credentials)
AGENT_TLS_STUB(gnutls_certificate_free_credentials)
AGENT_TLS_STUB(gnutls_certificate_server_set_request)
AGENT_TLS_STUB(gnutls_certificate_set_dh_params)
AGENT_TLS_STUB(gnutls_certificate_set_retrieve_function2)
AGENT_TLS_STUB(gnutls_certificate_set_retrieve_function3)
AGENT_TLS_STUB(gnutls_certificate_set_x509_key_mem)
AGENT_TLS_STUB(gnutls_certificate_set_x509_key_mem2)
AGENT_TLS_STUB(gnutls_certificate_set_x509_trust_mem)
AGENT_TLS_STUB(gnutls_cipher_get)
AGENT_TLS_STUB(gnutls_credentials_set)
AGENT_TLS_STUB(gnutls_deinit)
AGENT_TLS_STUB(gnutls_dh_params_deinit)
AGENT_TLS_STUB(gnutls_dh_params_import_pkcs3)
AGENT_TLS_STUB(gnutls_dh_params_init)
AGENT_TLS_STUB(gnutls_handshake)
AGENT_TLS_STUB(gnutls_init)
AGENT_TLS_STUB(gnutls_priority_deinit)
AGENT_TLS_STUB(gnutls_priority_init)
AGENT_TLS_STUB(gnutls_priority_set)
AGENT_TLS_STUB(gnutls_protocol_get_version)
AGENT_TLS_STUB(gnutls_psk_allocate_server_credentials)
AGENT_TLS_STUB(gnutls_psk_free_server_credentials)
AGENT_TLS_STUB(gnutls_psk_set_server_credentials_function)
AGENT_TLS_STUB(gnutls_record_check_pending)
AGENT_TLS_STUB(gnutls_record_get_direction)
AGENT_TLS_STUB(gnutls_record_recv)
AGENT_TLS_STUB(gnutls_record_send)
AGENT_TLS_STUB(gnutls_session_get_ptr)
AGENT_TLS_STUB(gnutls_session_set_ptr)
AGENT_TLS_STUB(gnutls_strerror)
AGENT_TLS_STUB(gnutls_transport_set_int2)
