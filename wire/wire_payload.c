/* wire_payload.c: being written */
typedef int ttlog__wire_placeholder_wire_payload;
