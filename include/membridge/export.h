/* SPDX-License-Identifier: MIT */
/*
 * MEMBRIDGE_API marks every public function. The library is compiled with
 * -fvisibility=hidden, so only what carries this mark is exported; a linker
 * version script then places each export under a version node.
 *
 * Users never define MEMBRIDGE_BUILDING. Define MEMBRIDGE_STATIC when linking
 * the static library on Windows.
 */
#ifndef MEMBRIDGE_EXPORT_H
#define MEMBRIDGE_EXPORT_H

#if defined(_WIN32) && !defined(MEMBRIDGE_STATIC)
# if defined(MEMBRIDGE_BUILDING)
#  define MEMBRIDGE_API __declspec(dllexport)
# else
#  define MEMBRIDGE_API __declspec(dllimport)
# endif
#elif defined(MEMBRIDGE_BUILDING) && defined(__GNUC__)
# define MEMBRIDGE_API __attribute__((visibility("default")))
#else
# define MEMBRIDGE_API
#endif

#endif /* MEMBRIDGE_EXPORT_H */
