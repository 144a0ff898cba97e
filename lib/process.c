/* SPDX-License-Identifier: MIT */
/* Process records: who holds a lock or a channel role, and whether it died. */
#include "config.h"

#include "internal.h"

uint64_t mb_process_record(void)
{
	return (uint64_t)mb_os_pid_namespace() << 32 | (uint32_t)mb_os_pid();
}

bool mb_process_gone(uint64_t record, uint64_t self)
{
	int32_t pid = (int32_t)(uint32_t)record;

	if (!record || record >> 32 != self >> 32 || pid <= 0 || record == self)
		return false;
	return !mb_os_pid_alive(pid);
}
