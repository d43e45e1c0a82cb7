/* cbor_read.c: being written */
typedef int ttlog__wire_placeholder_cbor_read;
