/* every_type_c.c - every_type.h's events logged from C, for test_cxx.cpp
 * to compare with the same events logged from C++. */
#include "every_type.h"

void every_type_log_c(void)
{
	every_type_log("c");
}
