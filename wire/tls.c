/* tls.c: being written */
typedef int ttlog__wire_placeholder_tls;
