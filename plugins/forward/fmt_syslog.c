/* fmt_syslog.c: being written */
typedef int ttlog__fmt_placeholder;
