/* spool.c: being written */
typedef int ttlog__spool_placeholder;
