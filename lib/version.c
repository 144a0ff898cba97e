/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "membridge.h"

const char *membridge_version(void)
{
	return MEMBRIDGE_VERSION_STRING;
}

unsigned membridge_version_number(void)
{
	return MEMBRIDGE_VERSION_NUMBER;
}
